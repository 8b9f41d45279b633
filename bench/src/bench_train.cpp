// `mamba-studio-cli bench train`: one training step (forward, cross-entropy, backward, AdamW) at a
// shape given on the command line, on random byte tokens. Reports tokens/s, model-FLOPs
// utilisation against the matmul rate measured in the same run, the step's breakdown (how much
// is the fused scan) and the peak resident memory. On CUDA (--device cuda): MFU against the GPU's
// dense bf16 peak (bench_train_device.h), the allocator's peak memory against the estimate
// (memory_estimate.h), --scan fused vs chunked, fp16 through the GradScaler.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "bench_parts.h"
#include "bench_train_device.h"
#include "mts/core/kernels/scan_cpu.h"
#include "mts/core/kernels/selective_scan.h"
#include "mts/core/kernels/ssd_cpu.h"
#include "mts/core/model/language_model.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/runtime.h"
#include "mts/core/runtime/torch_compat.h"
#include "mts/core/train/grad_scaler.h"
#include "mts/core/train/memory_estimate.h"
#include "mts/core/train/presets.h"

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
    std::string device = "cpu";
    std::string scan = "auto";
    std::string preset;              // a model preset (models.json) for the shape; "" = the options
    std::set<std::string> explicitShape;  // shape options given on the command line (override the preset)
    double peakTflops = 0;           // CUDA: dense bf16 peak; 0 = from the table
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

// The model shape: a preset's (--preset) or the defaults, then the options given explicitly.
ModelConfig benchModelConfig(const BenchTrainOptions& o) {
    ModelConfig cfg;
    cfg.arch = architectureFromString(o.arch);
    const auto given = [&o](const char* opt) { return o.preset.empty() || o.explicitShape.count(opt) > 0; };
    if (!o.preset.empty()) {
        PresetChoice choice;
        choice.arch = o.arch;
        choice.model = o.preset;
        cfg = composeConfig(PresetCatalog::load(), choice).model;
    } else {
        cfg.dState = cfg.arch == Architecture::Mamba2 ? 128 : 16;
    }
    if (given("--d-model")) cfg.dModel = o.dModel;
    if (given("--n-layer")) cfg.nLayer = o.nLayer;
    cfg.vocabSize = o.vocab;
    if (o.dState > 0) cfg.dState = o.dState;
    if (given("--n-head")) cfg.nHead = o.nHead;
    if (given("--head-dim")) cfg.headDim = o.headDim;
    if (given("--n-groups")) cfg.nGroups = o.nGroups;
    if (o.chunkSize > 0) cfg.chunkSize = o.chunkSize;
    cfg.maxSeqLen = std::max<int64_t>(cfg.maxSeqLen, o.seqLen);
    cfg.validate();
    return cfg;
}

// Restores the scan backend Auto resolves to when the bench ends.
struct ScanOverride {
    explicit ScanOverride(ScanBackend b) : m_set(b != ScanBackend::Auto) {
        if (m_set) setAutoScanBackendOverride(b);
    }
    ~ScanOverride() {
        if (m_set) setAutoScanBackendOverride(ScanBackend::Auto);
    }
    bool m_set;
};

int runBenchTrain(const BenchTrainOptions& o) {
    const TrainDevice dev = chooseTrainDevice(o.device, o.peakTflops);
    const torch::Device device = dev.device;
    checkTrainDtype(o.dtype, device);
    const bool bf16 = o.dtype == "bf16", fp16 = o.dtype == "fp16", cuda = device.is_cuda();
    const auto& rt = runtimeInfo();

    const ModelConfig cfg = benchModelConfig(o);
    const ScanOverride scanChoice(cfg.arch == Architecture::Mamba ? chooseScanBackend(o.scan, device)
                                                                  : ScanBackend::Auto);
    torch::manual_seed(0);
    LanguageModel model = createModel(cfg);
    model->to(device);
    model->train();
    model->setGradientCheckpointing(o.checkpointing);
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3).weight_decay(0.1));
    GradScaler scaler;  // fp16 only
    std::vector<torch::Tensor> params = model->parameters();
    TrainConfig estCfg;
    estCfg.model = cfg;
    estCfg.microBatch = o.batch;
    estCfg.seqLen = o.seqLen;
    estCfg.precision = precisionFromString(o.dtype);
    estCfg.gradCheckpointing = o.checkpointing;
    const MemoryEstimate estimate = estimateMemory(estCfg, cuda);

    // The best of three probes: one probe on a shared or frequency-scaling machine can come out
    // low, and MFU against a low peak reads above 100%.
    auto bestOf3 = [](bool lowPrecision) {
        double best = 0;
        for (int i = 0; i < 3; ++i) best = std::max(best, measureMatmulGflops(lowPrecision));
        return best;
    };
    // CUDA: the data sheet's dense bf16 peak (no probe); the CPU: the matmul rate measured here.
    const double gflopsF32 = cuda ? 0.0 : bestOf3(false);
    const double gflopsBf16 = cuda ? dev.peakTflops * 1e3 : rt.cpuBf16 || bf16 ? bestOf3(true) : 0.0;
    const int64_t rssBefore = peakRssBytes();
    resetPeakMemory(device);

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
        const torch::Tensor batch = torch::randint(0, o.vocab, {o.batch, o.seqLen + 1}, torch::kLong).to(device);
        const torch::Tensor ids = batch.narrow(1, 0, o.seqLen);
        const torch::Tensor targets = batch.narrow(1, 1, o.seqLen);
        syncDevice(device);
        auto t0 = Clock::now();
        torch::Tensor loss;
        {
            compat::AutocastGuard autocast(device.type(), fp16 ? at::kHalf : at::kBFloat16, bf16 || fp16);
            const torch::Tensor logits = model->forward(ids);  // (B, L, V)
            loss = torch::nn::functional::cross_entropy(logits.reshape({-1, V}).to(torch::kFloat32),
                                                        targets.reshape({-1}));
        }
        syncDevice(device);
        auto t1 = Clock::now();
        opt.zero_grad();
        (fp16 ? scaler.scaleLoss(loss) : loss).backward();
        syncDevice(device);
        auto t2 = Clock::now();
        if (fp16) {
            scaler.step(params, [&opt] { opt.step(); });
            scaler.update();
        } else {
            opt.step();
        }
        syncDevice(device);
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
    // On CUDA every dtype is measured against the bf16 tensor-core peak (the yardstick).
    const double peak = bf16 || cuda ? gflopsBf16 : gflopsF32;
    const PeakMemory mem = peakMemory(device);
    const double scanShare = (scan.forwardSeconds + scan.backwardSeconds) / total;
    const std::string scanBackend = toString(resolveScanBackend(device));

    if (o.json) {
        nlohmann::json j = {
            {"bench", "train"},
            {"arch", o.arch},
            {"shape", {{"d_model", cfg.dModel}, {"n_layer", cfg.nLayer}, {"seq_len", o.seqLen}, {"batch", o.batch},
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
            {"device", o.device},
            {"device_name", dev.description},
            {"preset", o.preset},
            {"scan", o.scan},
            {"peak_tflops", cuda ? dev.peakTflops : peak / 1e3},
            {"peak_source", cuda ? dev.peakSource : "measured matmul"},
            {"peak_memory_bytes", mem.bytes},
            {"peak_memory_source", mem.source},
            {"peak_reserved_bytes", mem.reservedBytes},
            {"estimate_bytes", estimate.peakBytes},
            {"estimate_tensor_bytes", estimate.peakBytes - estimate.runtimeBytes},
            {"loss_scale", fp16 ? nlohmann::json(scaler.scale()) : nlohmann::json(nullptr)},
            {"skipped_steps", scaler.skippedSteps()},
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
                o.arch.c_str(), (long long)cfg.dModel, (long long)cfg.nLayer, (long long)o.seqLen, (long long)o.batch,
                o.dtype.c_str(), o.checkpointing ? " checkpointing" : "", rt.intraOpThreads);
    std::printf("  device            %s%s%s\n", dev.description.c_str(), o.preset.empty() ? "" : "  preset ",
                o.preset.c_str());
    std::printf("  parameters        %lld (non-embedding %lld)\n", (long long)model->numParameters(),
                (long long)model->numNonEmbeddingParameters());
    std::printf("  tokens/s          %.0f   (step %.1f ms, %lld steps after %lld warm-up; best step %.1f ms = %.0f tokens/s)\n",
                tokensPerS, total / double(o.steps) * 1e3, (long long)o.steps, (long long)o.warmup, bestStep * 1e3,
                tokensPerSBest);
    std::printf("  MFU               %.1f%%  (%.1f GFLOP/s achieved, %s %s %.1f GFLOP/s)\n", 100 * achieved / peak,
                achieved, cuda ? "data-sheet" : "matmul", bf16 || cuda ? "bf16" : "fp32", peak);
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
    std::printf("  peak memory       %.0f MiB (%s) vs estimate %.0f MiB (%.0f MiB without the runtime)\n",
                double(mem.bytes) / (1 << 20), mem.source.c_str(), double(estimate.peakBytes) / (1 << 20),
                double(estimate.peakBytes - estimate.runtimeBytes) / (1 << 20));
    if (fp16)
        std::printf("  loss scale        %.0f (%lld steps skipped)\n", scaler.scale(), (long long)scaler.skippedSteps());
    std::printf("  final loss        %.4f\n", lastLoss);
    return 0;
}

}  // namespace

void addBenchTrain(CLI::App& bench, Runner& run) {
    auto* sub = bench.add_subcommand("train", "Training step: tokens/s, MFU, scan share, peak memory");
    auto o = std::make_shared<BenchTrainOptions>();
    sub->add_option("--arch", o->arch, "mamba, mamba2 or transformer")
        ->check(CLI::IsMember({"mamba", "mamba2", "transformer"}));
    sub->add_option("--preset", o->preset, "Model shape from a model preset (tiny, mini, small, medium, ...); "
                                           "shape options given as well override it");
    sub->add_option("--device", o->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
    sub->add_option("--scan", o->scan, "Mamba scan: auto, fused (our kernel for the device), chunked, reference")
        ->check(CLI::IsMember({"auto", "fused", "chunked", "reference"}));
    sub->add_option("--peak-tflops", o->peakTflops, "CUDA: the GPU's dense bf16 peak (default: known GPUs' table)")
        ->check(CLI::PositiveNumber);
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
    sub->add_option("--dtype", o->dtype, "fp32, bf16 or fp16 (autocast, fp32 master weights; fp16: CUDA, loss scaling)")
        ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
    sub->add_flag("--checkpointing", o->checkpointing, "Gradient checkpointing per block");
    sub->add_flag("--json", o->json, "One JSON object on stdout");
    sub->callback([&run, o, sub] {
        for (const char* opt : {"--d-model", "--n-layer", "--n-head", "--head-dim", "--n-groups"})
            if (sub->get_option(opt)->count() > 0) o->explicitShape.insert(opt);
        run = [o] { return runBenchTrain(*o); };
    });
}

}  // namespace mts::bench
