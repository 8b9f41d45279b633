// `mamba-studio-cli bench train`: one training step (forward, cross-entropy, backward, AdamW) at a
// shape given on the command line, on random byte tokens. Reports tokens/s, model-FLOPs
// utilisation against the matmul rate measured in the same run, the step's breakdown (how much
// is the fused scan) and the peak resident memory.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "bench_parts.h"
#include "mts/core/kernels/scan_cpu.h"
#include "mts/core/kernels/selective_scan.h"
#include "mts/core/kernels/ssd_cpu.h"
#include "mts/core/model/language_model.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/runtime.h"
#include "mts/core/runtime/torch_compat.h"

namespace mts::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchTrainOptions {
    std::string arch = "mamba";
    int64_t dModel = 256;
    int64_t nLayer = 4;
    int64_t seqLen = 256;
    int64_t batch = 8;
    int64_t steps = 10;
    int64_t warmup = 2;
    int64_t vocab = 256;
    int64_t dState = 0;  // 0: 16 for Mamba, 128 for Mamba-2 (mamba_ssm's defaults)
    int64_t nHead = 4;
    int64_t headDim = 64;     // Mamba-2
    int64_t nGroups = 1;      // Mamba-2
    int64_t chunkSize = 0;    // Mamba-2 SSD chunk; 0: the config's default
    std::string dtype = "fp32";
    bool checkpointing = false;
    bool json = false;
};

// Model FLOPs per token, the usual accounting: 6 per parameter (forward 2, backward 4; the tied
// embedding counted once, for the output projection), plus what parameters do not capture:
// the scan's 7 FLOPs per (channel x state) element forward (dt*A, exp, decay, 2 FMAs) and twice
// that backward; attention's 12 x layers x width x context (QK^T and AV, forward and backward);
// Mamba-2's SSD per layer and token (x3 for backward): the causal half of the chunk's C B^T
// (G Q N) and of its scores times x (D_inner Q), twice 2 D_inner N for the chunk states and the
// state-to-output product, with Q = min(chunk, seq_len).
double flopsPerToken(const LanguageModelImpl& model, const BenchTrainOptions& o) {
    const ModelConfig& c = model.config();
    // Sparse models: only the active (routed) experts count.
    double f = 6.0 * double(model.numParameters() - model.numNonEmbeddingParameters() +
                            model.numActiveNonEmbeddingParameters());
    if (c.arch == Architecture::Mamba) f += 21.0 * double(c.nLayer) * double(c.dInner()) * double(c.dState);
    if (c.arch == Architecture::Mamba2) {
        const double q = double(std::min(c.chunkSize, o.seqLen)), di = double(c.dInner()), n = double(c.dState);
        f += 3.0 * double(c.nLayer) * (double(c.nGroups) * q * n + di * q + 4.0 * di * n);
    }
    if (c.arch == Architecture::Transformer || c.arch == Architecture::Moe) f += 12.0 * double(c.nLayer) * double(c.dModel) * double(o.seqLen);
    return f;
}

int runBenchTrain(const BenchTrainOptions& o) {
    if (o.dtype != "fp32" && o.dtype != "bf16") throw ConfigError("--dtype must be fp32 or bf16, got " + o.dtype);
    const bool bf16 = o.dtype == "bf16";
    const auto& rt = runtimeInfo();

    ModelConfig cfg;
    cfg.arch = architectureFromString(o.arch);
    cfg.dModel = o.dModel;
    cfg.nLayer = o.nLayer;
    cfg.vocabSize = o.vocab;
    cfg.dState = o.dState > 0 ? o.dState : cfg.arch == Architecture::Mamba2 ? 128 : 16;
    cfg.nHead = o.nHead;
    cfg.headDim = o.headDim;
    cfg.nGroups = o.nGroups;
    if (o.chunkSize > 0) cfg.chunkSize = o.chunkSize;
    cfg.maxSeqLen = std::max<int64_t>(cfg.maxSeqLen, o.seqLen);
    cfg.validate();
    torch::manual_seed(0);
    LanguageModel model = createModel(cfg);
    model->train();
    model->setGradientCheckpointing(o.checkpointing);
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3).weight_decay(0.1));

    // The best of three probes: one probe on a shared or frequency-scaling machine can come out
    // low, and MFU against a low peak reads above 100%.
    auto bestOf3 = [](bool lowPrecision) {
        double best = 0;
        for (int i = 0; i < 3; ++i) best = std::max(best, measureMatmulGflops(lowPrecision));
        return best;
    };
    const double gflopsF32 = bestOf3(false);
    const double gflopsBf16 = rt.cpuBf16 || bf16 ? bestOf3(true) : 0.0;
    const int64_t rssBefore = peakRssBytes();

    const int64_t V = cfg.paddedVocab();
    double tFwd = 0, tBwd = 0, tOpt = 0, total = 0;
    double lastLoss = 0;
    std::vector<double> stepTimes;  // per timed step, seconds
    scan_cpu::ScanTimes scanAtStart;
    for (int64_t step = 0; step < o.warmup + o.steps; ++step) {
        if (step == o.warmup) {
            tFwd = tBwd = tOpt = 0;
            scan_cpu::resetScanTimes();
            ssd_cpu::resetSsdTimes();
        }
        const torch::Tensor batch = torch::randint(0, o.vocab, {o.batch, o.seqLen + 1}, torch::kLong);
        const torch::Tensor ids = batch.narrow(1, 0, o.seqLen);
        const torch::Tensor targets = batch.narrow(1, 1, o.seqLen);
        auto t0 = Clock::now();
        torch::Tensor loss;
        {
            compat::AutocastGuard autocast(c10::DeviceType::CPU, at::kBFloat16, bf16);
            const torch::Tensor logits = model->forward(ids);  // (B, L, V)
            loss = torch::nn::functional::cross_entropy(logits.reshape({-1, V}).to(torch::kFloat32),
                                                        targets.reshape({-1}));
        }
        auto t1 = Clock::now();
        opt.zero_grad();
        loss.backward();
        auto t2 = Clock::now();
        opt.step();
        auto t3 = Clock::now();
        lastLoss = loss.item<double>();
        if (step >= o.warmup) {
            stepTimes.push_back(std::chrono::duration<double>(t3 - t0).count());
            tFwd += std::chrono::duration<double>(t1 - t0).count();
            tBwd += std::chrono::duration<double>(t2 - t1).count();
            tOpt += std::chrono::duration<double>(t3 - t2).count();
        }
    }
    total = tFwd + tBwd + tOpt;
    const auto scan = scan_cpu::scanTimes();
    const auto ssd = ssd_cpu::ssdTimes();  // Mamba-2's fused CPU SSD (zero for other architectures)
    const double tokens = double(o.batch * o.seqLen * o.steps);
    const double tokensPerS = tokens / total;
    // The fastest step: on a machine shared with noisy neighbours the mean moves with them,
    // the best step much less (for A/B comparisons; the mean is the headline figure).
    const double bestStep = *std::min_element(stepTimes.begin(), stepTimes.end());
    const double tokensPerSBest = double(o.batch * o.seqLen) / bestStep;
    const double fpt = flopsPerToken(*model, o);
    const double achieved = fpt * tokensPerS / 1e9;
    const double peak = bf16 ? gflopsBf16 : gflopsF32;
    const double scanShare = (scan.forwardSeconds + scan.backwardSeconds) / total;
    const std::string scanBackend = toString(resolveScanBackend(torch::Device(torch::kCPU)));

    if (o.json) {
        nlohmann::json j = {
            {"bench", "train"},
            {"arch", o.arch},
            {"shape", {{"d_model", o.dModel}, {"n_layer", o.nLayer}, {"seq_len", o.seqLen}, {"batch", o.batch},
                       {"vocab", o.vocab}, {"d_state", cfg.dState}, {"n_head", cfg.nHead},
                       {"head_dim", cfg.headDim}, {"n_groups", cfg.nGroups}, {"chunk_size", cfg.chunkSize}}},
            {"dtype", o.dtype},
            {"checkpointing", o.checkpointing},
            {"steps", o.steps},
            {"parameters", model->numParameters()},
            {"non_embedding_parameters", model->numNonEmbeddingParameters()},
            {"tokens_per_s", tokensPerS},
            {"step_ms", total / double(o.steps) * 1e3},
            {"step_ms_best", bestStep * 1e3},
            {"tokens_per_s_best_step", tokensPerSBest},
            {"flops_per_token", fpt},
            {"achieved_gflops", achieved},
            {"matmul_gflops", peak},
            {"matmul_gflops_fp32", gflopsF32},
            {"matmul_gflops_bf16", gflopsBf16},
            {"mfu", achieved / peak},
            {"breakdown", {{"forward", tFwd / total}, {"backward", tBwd / total}, {"optimizer", tOpt / total},
                           {"scan_fwd", scan.forwardSeconds / total}, {"scan_bwd", scan.backwardSeconds / total},
                           {"ssd_fwd", ssd.forwardSeconds / total}, {"ssd_bwd", ssd.backwardSeconds / total}}},
            {"scan_fraction", scanShare},
            {"scan_backend", scanBackend},
            {"scan_isa", scan_cpu::activeIsa()},
            {"peak_rss_mb", double(peakRssBytes()) / (1 << 20)},
            {"peak_rss_before_training_mb", double(rssBefore) / (1 << 20)},
            {"final_loss", lastLoss},
            {"threads", rt.intraOpThreads},
            {"torch", rt.torchVersion},
            {"blas", rt.blas},
        };
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("bench train  arch=%s d_model=%lld n_layer=%lld seq_len=%lld batch=%lld dtype=%s%s  threads=%d\n",
                o.arch.c_str(), (long long)o.dModel, (long long)o.nLayer, (long long)o.seqLen, (long long)o.batch,
                o.dtype.c_str(), o.checkpointing ? " checkpointing" : "", rt.intraOpThreads);
    std::printf("  parameters        %lld (non-embedding %lld)\n", (long long)model->numParameters(),
                (long long)model->numNonEmbeddingParameters());
    std::printf("  tokens/s          %.0f   (step %.1f ms, %lld steps after %lld warm-up; best step %.1f ms = %.0f tokens/s)\n",
                tokensPerS, total / double(o.steps) * 1e3, (long long)o.steps, (long long)o.warmup, bestStep * 1e3,
                tokensPerSBest);
    std::printf("  MFU               %.1f%%  (%.1f GFLOP/s achieved, matmul %s %.1f GFLOP/s)\n", 100 * achieved / peak,
                achieved, bf16 ? "bf16" : "fp32", peak);
    std::printf("  step breakdown    forward %.0f%%  backward %.0f%%  optimizer %.0f%%\n", 100 * tFwd / total,
                100 * tBwd / total, 100 * tOpt / total);
    if (cfg.arch == Architecture::Mamba)
        std::printf("  scan (%s, %s)  fwd %.1f%% + bwd %.1f%% = %.1f%% of the step\n", scanBackend.c_str(),
                    scan_cpu::activeIsa().c_str(), 100 * scan.forwardSeconds / total,
                    100 * scan.backwardSeconds / total, 100 * scanShare);
    if (cfg.arch == Architecture::Mamba2 && ssd.forwardCalls > 0)
        std::printf("  SSD (fused CPU, %s)  fwd %.1f%% + bwd %.1f%% = %.1f%% of the step\n", scan_cpu::activeIsa().c_str(),
                    100 * ssd.forwardSeconds / total, 100 * ssd.backwardSeconds / total,
                    100 * (ssd.forwardSeconds + ssd.backwardSeconds) / total);
    std::printf("  peak RSS          %.0f MiB\n", double(peakRssBytes()) / (1 << 20));
    std::printf("  final loss        %.4f\n", lastLoss);
    return 0;
}

}  // namespace

void addBenchTrain(CLI::App& bench, Runner& run) {
    auto* sub = bench.add_subcommand("train", "Training step: tokens/s, MFU, scan share, peak memory");
    auto o = std::make_shared<BenchTrainOptions>();
    sub->add_option("--arch", o->arch, "mamba, mamba2 or transformer")
        ->check(CLI::IsMember({"mamba", "mamba2", "transformer"}));
    sub->add_option("--d-model", o->dModel, "Model width")->check(CLI::PositiveNumber);
    sub->add_option("--n-layer", o->nLayer, "Layers")->check(CLI::PositiveNumber);
    sub->add_option("--seq-len", o->seqLen, "Tokens per sequence")->check(CLI::PositiveNumber);
    sub->add_option("--batch", o->batch, "Sequences per step")->check(CLI::PositiveNumber);
    sub->add_option("--steps", o->steps, "Timed steps")->check(CLI::PositiveNumber);
    sub->add_option("--warmup", o->warmup, "Untimed steps first")->check(CLI::NonNegativeNumber);
    sub->add_option("--vocab", o->vocab, "Vocabulary (256 = bytes)")->check(CLI::PositiveNumber);
    sub->add_option("--d-state", o->dState, "State size (default: 16 Mamba, 128 Mamba-2)")->check(CLI::PositiveNumber);
    sub->add_option("--head-dim", o->headDim, "Mamba-2 head dimension")->check(CLI::PositiveNumber);
    sub->add_option("--n-groups", o->nGroups, "Mamba-2 groups of B and C")->check(CLI::PositiveNumber);
    sub->add_option("--chunk-size", o->chunkSize, "Mamba-2 SSD chunk length (default: the model config's)")
        ->check(CLI::PositiveNumber);
    sub->add_option("--n-head", o->nHead, "Transformer heads")->check(CLI::PositiveNumber);
    sub->add_option("--dtype", o->dtype, "fp32 or bf16 (autocast, fp32 master weights)")
        ->check(CLI::IsMember({"fp32", "bf16"}));
    sub->add_flag("--checkpointing", o->checkpointing, "Gradient checkpointing per block");
    sub->add_flag("--json", o->json, "One JSON object on stdout");
    sub->callback([&run, o] { run = [o] { return runBenchTrain(*o); }; });
}

}  // namespace mts::bench
