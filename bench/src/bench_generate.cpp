// `mamba-studio-cli bench generate`: decoding speed and state memory at batch 1, at a short and a
// long context, for Mamba and a Transformer of the same width and depth (random weights).
// Mamba's per-token time and state size must stay flat with context; the Transformer's KV cache
// (and its attention cost per token) grows.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_parts.h"
#include "memory_bandwidth.h"
#include "mts/core/generate/generation.h"
#include "mts/core/generate/inference_model.h"
#include "mts/core/model/language_model.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/runtime.h"
#include "mts/core/runtime/torch_compat.h"

namespace mts::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchGenerateOptions {
    std::string arch = "both";
    int64_t dModel = 768;
    int64_t nLayer = 24;
    int64_t vocab = 50280;
    int64_t dState = 16;
    int64_t nHead = 12;
    std::string positions = "learned";
    std::vector<int64_t> contexts = {100, 10000};
    int64_t tokens = 32;
    int64_t chunk = 1000;
    std::string device = "cpu";
    std::vector<std::string> weights = {"reference", "fp32", "bf16", "f16", "int8"};
    bool json = false;
    int64_t bandwidthMib = 1024;  // 0 = do not measure the memory bandwidth
};

struct ContextResult {
    std::string arch;
    std::string weights = "reference";
    int64_t weightBytes = 0;  // weights read per token (fused decoder; 0 for the LibTorch path)
    int64_t context = 0;
    double prefillSeconds = 0;
    double msPerTokenMean = 0;
    double msPerTokenMedian = 0;
    double tokensPerSecond = 0;
    int64_t stateBytes = 0;
    int64_t rssBytes = 0;
};

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

std::vector<ContextResult> benchArch(Architecture arch, const BenchGenerateOptions& o,
                                     const std::vector<int64_t>& contexts, torch::Device device) {
    ModelConfig cfg;
    cfg.arch = arch;
    cfg.dModel = o.dModel;
    cfg.nLayer = o.nLayer;
    cfg.vocabSize = o.vocab;
    cfg.dState = o.dState;
    cfg.nHead = o.nHead;
    cfg.positions = o.positions;
    const int64_t maxContext = *std::max_element(contexts.begin(), contexts.end());
    // Room for the prompt, the warm-up steps and the timed steps.
    cfg.maxSeqLen = std::max<int64_t>(cfg.maxSeqLen, maxContext + o.tokens + 16);
    cfg.validate();

    torch::NoGradGuard noGrad;
    torch::manual_seed(0);
    LanguageModel model = createModel(cfg);
    model->to(device);
    model->eval();
    std::fprintf(stderr, "%s: %.1f M parameters\n", toString(arch).c_str(), model->numParameters() / 1e6);

    SamplingOptions greedy;
    greedy.temperature = 0.0;
    const auto idOptions = torch::TensorOptions().dtype(torch::kLong);

    std::vector<ContextResult> out;
    for (const std::string& weights : o.weights) {
    std::unique_ptr<InferenceModel> inference;
    if (weights != "reference") {
        if (!InferenceModel::supports(*model)) {
            std::fprintf(stderr, "%s: --weights %s skipped (the fused decoder supports Mamba and Mamba-2 on the CPU only)\n",
                         toString(arch).c_str(), weights.c_str());
            continue;
        }
        inference = std::make_unique<InferenceModel>(*model, decode::weightTypeFromString(weights));
    }
    for (int64_t context : contexts) {
        ContextResult r;
        r.arch = toString(arch);
        r.weights = weights;
        r.weightBytes = inference ? inference->weightBytesPerToken() : 0;
        r.context = context;
        std::unique_ptr<DecodeState> state;
        std::unique_ptr<InferenceState> fast;
        torch::Tensor prompt = torch::randint(0, cfg.vocabSize, {1, context}, idOptions).to(device);
        auto t0 = Clock::now();
        torch::Tensor logits;
        if (inference) {
            fast = inference->newState();
            const torch::Tensor p = prompt.view({-1}).to(torch::kInt32).contiguous();
            const std::vector<int32_t> ids(p.data_ptr<int32_t>(), p.data_ptr<int32_t>() + p.numel());
            const std::vector<float>& l = inference->prefill(ids, *fast, o.chunk);
            logits = torch::from_blob(const_cast<float*>(l.data()), {static_cast<int64_t>(l.size())}, torch::kFloat);
        } else {
            state = model->newState(1);
            // Chunked prefill keeps the Transformer's attention scores at chunk x context instead of
            // context x context; for Mamba it is the same computation as one call.
            for (int64_t start = 0; start < context; start += o.chunk) {
                const int64_t len = std::min(o.chunk, context - start);
                logits = model->prefill(prompt.narrow(1, start, len), *state);
            }
            logits = logits.to(torch::kCPU, torch::kFloat);
        }
        r.prefillSeconds = seconds(t0, Clock::now());

        Sampler sampler(greedy, cfg.vocabSize);
        std::vector<int32_t> history;  // no repetition penalty: sampling cost stays a plain argmax
        std::vector<double> perToken;
        const int64_t warmup = 2;
        for (int64_t i = 0; i < warmup + o.tokens; ++i) {
            auto s0 = Clock::now();
            const int32_t id = sampler.sample(logits, history);
            if (inference) {
                inference->step(id, *fast);
            } else {
                torch::Tensor next = torch::tensor(std::vector<int64_t>{id}, idOptions).to(device);
                logits = model->step(next, *state).to(torch::kCPU, torch::kFloat);
            }
            if (i >= warmup) perToken.push_back(seconds(s0, Clock::now()));
        }
        double total = 0;
        for (double t : perToken) total += t;
        r.msPerTokenMean = 1e3 * total / static_cast<double>(perToken.size());
        std::sort(perToken.begin(), perToken.end());
        r.msPerTokenMedian = 1e3 * perToken[perToken.size() / 2];
        r.tokensPerSecond = 1e3 / r.msPerTokenMedian;
        r.stateBytes = inference ? fast->bytes() : state->bytes();
        r.rssBytes = currentRssBytes();
        std::fprintf(stderr, "  %s context %lld: prefill %.1f s, %.2f ms/token\n", weights.c_str(),
                     static_cast<long long>(context), r.prefillSeconds, r.msPerTokenMedian);
        out.push_back(r);
    }
    }
    return out;
}

int runBenchGenerate(const BenchGenerateOptions& o) {
    if (o.tokens < 1) throw ConfigError("--tokens must be >= 1");
    if (o.chunk < 1) throw ConfigError("--chunk must be >= 1");
    std::vector<Architecture> archs;
    if (o.arch == "both") {
        archs = {Architecture::Mamba, Architecture::Transformer};
    } else {
        archs = {architectureFromString(o.arch)};
    }
    const std::vector<int64_t>& contexts = o.contexts;
    if (contexts.empty()) throw ConfigError("--contexts: give at least one context length");
    torch::Device device = torch::kCPU;
    if (o.device == "cuda") {
        if (!compat::cudaAvailable()) throw ConfigError("--device cuda: no CUDA device available");
        device = torch::kCUDA;
    } else if (o.device != "cpu") {
        throw ConfigError(fmt::format("--device: '{}' is not cpu or cuda", o.device));
    }

    std::vector<ContextResult> all;
    for (Architecture a : archs) {
        auto r = benchArch(a, o, contexts, device);
        all.insert(all.end(), r.begin(), r.end());
    }

    const RuntimeInfo& rt = runtimeInfo();
    // The bound a decoder that reads every weight once per token cannot beat: this machine's
    // streaming-read bandwidth with the same threads.
    BandwidthResult bw;
    if (o.bandwidthMib > 0) bw = measureReadBandwidth(o.bandwidthMib, 5, rt.intraOpThreads);
    auto fractionOfBound = [&](const ContextResult& r) {
        return bw.bestGBs > 0 ? r.weightBytes * r.tokensPerSecond / 1e9 / bw.bestGBs : 0.0;
    };
    if (o.json) {
        nlohmann::json j;
        j["benchmark"] = "generate";
        j["device"] = rt.device;
        j["threads"] = rt.intraOpThreads;
        j["torch"] = rt.torchVersion;
        j["model"] = {{"d_model", o.dModel}, {"n_layer", o.nLayer}, {"vocab", o.vocab},
                      {"d_state", o.dState}, {"n_head", o.nHead}, {"positions", o.positions}};
        j["batch"] = 1;
        j["timed_tokens"] = o.tokens;
        if (bw.bestGBs > 0) {
            j["memory_read_bandwidth"] = {{"gb_per_second", bw.bestGBs}, {"buffer_bytes", bw.bytes},
                                          {"passes", bw.passes}, {"threads", rt.intraOpThreads}};
        }
        for (const auto& r : all) {
            j["results"].push_back({{"arch", r.arch},
                                    {"weights", r.weights},
                                    {"weight_bytes_per_token", r.weightBytes},
                                    {"context", r.context},
                                    {"prefill_seconds", r.prefillSeconds},
                                    {"ms_per_token_median", r.msPerTokenMedian},
                                    {"ms_per_token_mean", r.msPerTokenMean},
                                    {"tokens_per_second", r.tokensPerSecond},
                                    {"state_bytes", r.stateBytes},
                                    {"rss_bytes", r.rssBytes},
                                    {"fraction_of_bandwidth_bound", fractionOfBound(r)}});
        }
        std::puts(j.dump(2).c_str());
        return 0;
    }
    std::printf("generate, batch 1, %s, %d threads; d_model %lld, %lld layers, vocab %lld; %lld timed tokens\n",
                rt.device.c_str(), rt.intraOpThreads, static_cast<long long>(o.dModel),
                static_cast<long long>(o.nLayer), static_cast<long long>(o.vocab), static_cast<long long>(o.tokens));
    if (bw.bestGBs > 0) {
        std::printf("memory read bandwidth: %.1f GB/s (streaming read of %lld MiB, %d threads, best of %d)\n",
                    bw.bestGBs, static_cast<long long>(bw.bytes >> 20), rt.intraOpThreads, bw.passes);
    }
    std::printf("%-12s %-9s %9s %11s %12s %12s %10s %14s %10s %10s %8s %7s\n", "arch", "weights", "context",
                "prefill s", "ms/tok med", "ms/tok mean", "tok/s", "state MiB", "RSS MiB", "MB/token", "GB/s",
                "bound");
    for (const auto& r : all) {
        // GB/s: weights read per token x tokens/s; bound: that rate over the measured bandwidth.
        std::printf("%-12s %-9s %9lld %11.2f %12.2f %12.2f %10.1f %14.3f %10.0f %10.1f %8.2f %6.0f%%\n",
                    r.arch.c_str(), r.weights.c_str(), static_cast<long long>(r.context), r.prefillSeconds,
                    r.msPerTokenMedian, r.msPerTokenMean, r.tokensPerSecond, r.stateBytes / 1048576.0,
                    r.rssBytes / 1048576.0, r.weightBytes / 1e6, r.weightBytes * r.tokensPerSecond / 1e9,
                    100.0 * fractionOfBound(r));
    }
    // Growth of the per-token time from the shortest to the longest context, per architecture
    // and decoding path.
    for (Architecture a : archs) {
        for (const std::string& w : o.weights) {
            const ContextResult* lo = nullptr;
            const ContextResult* hi = nullptr;
            for (const auto& r : all) {
                if (r.arch != toString(a) || r.weights != w) continue;
                if (!lo || r.context < lo->context) lo = &r;
                if (!hi || r.context > hi->context) hi = &r;
            }
            if (lo && hi && lo != hi) {
                std::printf("%s %s: per-token time x%.2f, state x%.2f from context %lld to %lld\n",
                            toString(a).c_str(), w.c_str(), hi->msPerTokenMedian / lo->msPerTokenMedian,
                            static_cast<double>(hi->stateBytes) /
                                static_cast<double>(std::max<int64_t>(1, lo->stateBytes)),
                            static_cast<long long>(lo->context), static_cast<long long>(hi->context));
            }
        }
    }
    return 0;
}

}  // namespace

void addBenchGenerate(CLI::App& bench, Runner& run) {
    auto* sub = bench.add_subcommand("generate", "Decoding tokens/s and state memory at two contexts (batch 1)");
    auto o = std::make_shared<BenchGenerateOptions>();
    sub->add_option("--arch", o->arch, "mamba, mamba2, transformer or both (mamba + transformer)")->capture_default_str();
    sub->add_option("--d-model", o->dModel, "Model width")->capture_default_str();
    sub->add_option("--n-layer", o->nLayer, "Layers")->capture_default_str();
    sub->add_option("--vocab", o->vocab, "Vocabulary size")->capture_default_str();
    sub->add_option("--d-state", o->dState, "Mamba SSM state size")->capture_default_str();
    sub->add_option("--n-head", o->nHead, "Transformer heads")->capture_default_str();
    sub->add_option("--positions", o->positions, "Transformer positions: learned or rope")->capture_default_str();
    sub->add_option("--contexts", o->contexts, "Context lengths to time at, comma-separated")
        ->delimiter(',')
        ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}))
        ->capture_default_str();
    sub->add_option("--tokens", o->tokens, "Timed decoding steps per context")->capture_default_str();
    sub->add_option("--chunk", o->chunk, "Prefill chunk length")->capture_default_str();
    sub->add_option("--device", o->device, "cpu or cuda")->capture_default_str();
    sub->add_option("--weights", o->weights,
                    "Decoding paths to time, comma-separated: reference (LibTorch step), fp32, bf16, f16, int8 "
                    "(fused decoder, Mamba and Mamba-2)")
        ->delimiter(',')
        ->check(CLI::IsMember({"reference", "fp32", "bf16", "f16", "int8"}))
        ->capture_default_str();
    sub->add_option("--bandwidth-mib", o->bandwidthMib,
                    "Buffer for the memory-bandwidth probe in MiB (0 = skip; keep it well above the caches)")
        ->check(CLI::Range(int64_t{0}, int64_t{65536}))
        ->capture_default_str();
    sub->add_flag("--json", o->json, "Print one JSON object instead of a table");
    sub->callback([&run, o] { run = [o] { return runBenchGenerate(*o); }; });
}

}  // namespace mts::bench
