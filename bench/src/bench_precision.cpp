// `mamba-studio-cli bench precision`: the quality cost and speed of each decoding weight
// precision on a trained model: mean next-token loss (nats) over a held-out text, teacher
// forced through the fused decoder (InferenceModel::step) per precision, against the LibTorch
// fp32 full-sequence forward on the same tokens; plus the decode tokens/s of each pass.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_parts.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/generate/inference_model.h"
#include "mts/core/runtime/errors.h"

namespace mts::bench {
namespace {

struct BenchPrecisionOptions {
    std::string model;
    std::string text;
    int64_t tokens = 2048;
    std::vector<std::string> weights = {"fp32", "bf16", "f16", "int8"};
    bool json = false;
};

double nll(const float* logits, int64_t n, int32_t target) {
    double mx = -INFINITY;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, static_cast<double>(logits[i]));
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
    return std::log(sum) + mx - logits[target];
}

int runBenchPrecision(const BenchPrecisionOptions& o) {
    if (o.tokens < 2) throw ConfigError("--tokens must be >= 2");
    std::ifstream in(o.text, std::ios::binary);
    if (!in) throw ConfigError(fmt::format("--text: cannot read {}", o.text));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LoadedModel loaded = loadModel(resolveModelDir(o.model));
    if (!loaded.tokenizer) throw ConfigError(fmt::format("{}: the model has no tokenizer", o.model));
    std::vector<int32_t> ids = loaded.tokenizer->encode(text);
    if (static_cast<int64_t>(ids.size()) < o.tokens)
        throw ConfigError(fmt::format("--text: {} has {} tokens, fewer than --tokens {}", o.text, ids.size(), o.tokens));
    ids.resize(static_cast<size_t>(o.tokens));
    const int64_t vocab = loaded.model->config().vocabSize;  // the padded rows are not part of the loss

    struct Row {
        std::string weights;
        double loss = 0;
        double tokensPerSecond = 0;
        int64_t weightBytes = 0;
    };
    std::vector<Row> rows;
    {
        torch::NoGradGuard g;
        std::vector<int64_t> ids64(ids.begin(), ids.end());
        const torch::Tensor logits =
            loaded.model->forward(torch::tensor(ids64).view({1, -1}))[0].to(torch::kFloat).contiguous();  // (L, V)
        double total = 0;
        for (int64_t t = 0; t + 1 < o.tokens; ++t)
            total += nll(logits[t].data_ptr<float>(), vocab, ids[static_cast<size_t>(t + 1)]);
        rows.push_back({"reference", total / static_cast<double>(o.tokens - 1), 0.0, 0});
    }
    for (const std::string& w : o.weights) {
        InferenceModel inf(*loaded.model, decode::weightTypeFromString(w));
        auto state = inf.newState();
        double total = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (int64_t t = 0; t + 1 < o.tokens; ++t) {
            const std::vector<float>& logits = inf.step(ids[static_cast<size_t>(t)], *state);
            total += nll(logits.data(), vocab, ids[static_cast<size_t>(t + 1)]);
        }
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        rows.push_back({w, total / static_cast<double>(o.tokens - 1), static_cast<double>(o.tokens - 1) / secs,
                        inf.weightBytesPerToken()});
    }
    const double ref = rows.front().loss;
    if (o.json) {
        nlohmann::json j;
        j["benchmark"] = "precision";
        j["model"] = loaded.dir.string();
        j["text"] = o.text;
        j["tokens"] = o.tokens;
        for (const auto& r : rows)
            j["results"].push_back({{"weights", r.weights}, {"loss", r.loss}, {"loss_delta", r.loss - ref},
                                    {"tokens_per_second", r.tokensPerSecond}, {"weight_bytes_per_token", r.weightBytes}});
        std::puts(j.dump(2).c_str());
        return 0;
    }
    std::printf("precision: %s, %lld tokens of %s (teacher forced)\n", loaded.dir.string().c_str(),
                static_cast<long long>(o.tokens), o.text.c_str());
    std::printf("%-10s %12s %14s %10s %10s\n", "weights", "loss (nats)", "delta vs ref", "tok/s", "MB/token");
    for (const auto& r : rows)
        std::printf("%-10s %12.5f %+14.5f %10.1f %10.2f\n", r.weights.c_str(), r.loss, r.loss - ref,
                    r.tokensPerSecond, r.weightBytes / 1e6);
    return 0;
}

}  // namespace

void addBenchPrecision(CLI::App& bench, Runner& run) {
    auto* sub = bench.add_subcommand("precision", "Validation loss and decode tokens/s of each decoding weight precision");
    auto o = std::make_shared<BenchPrecisionOptions>();
    sub->add_option("--model", o->model, "Trained model: folder, checkpoint or run folder")->required();
    sub->add_option("--text", o->text, "Held-out text file to score")->required();
    sub->add_option("--tokens", o->tokens, "Tokens of the text to score")->capture_default_str();
    sub->add_option("--weights", o->weights, "Precisions, comma-separated: fp32, bf16, f16, int8")
        ->delimiter(',')
        ->check(CLI::IsMember({"fp32", "bf16", "f16", "int8"}))
        ->capture_default_str();
    sub->add_flag("--json", o->json, "Print one JSON object instead of a table");
    sub->callback([&run, o] { run = [o] { return runBenchPrecision(*o); }; });
}

}  // namespace mts::bench
