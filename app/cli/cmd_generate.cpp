// `mamba-studio-cli generate`: load a model (folder, checkpoint or run) and stream a continuation.
// stdout carries only the generated text (or, with --print-ids, one line of ids); stats go to stderr.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "int_list.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/generate/generation.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/torch_compat.h"

namespace mts::cli {
namespace {

struct GenerateCliOptions {
    std::string model;
    std::string prompt;
    std::string promptIds;
    bool printIds = false;
    bool noEcho = false;
    std::string device = "cpu";
    SamplingOptions sampling;
    bool ignoreEos = false;
    std::string weights = "auto";
};

std::vector<int32_t> parsePromptIds(const std::string& text) {
    const auto v = parseIntList(text, "--prompt-ids", 0, INT32_MAX, "a token id (expected e.g. 1,2,3)");
    return std::vector<int32_t>(v.begin(), v.end());
}

torch::Device parseDevice(const std::string& name) {
    if (name == "cpu") return torch::kCPU;
    if (name == "cuda") {
        if (!compat::cudaAvailable()) throw ConfigError("--device cuda: no CUDA device available");
        return torch::kCUDA;
    }
    throw ConfigError(fmt::format("--device: '{}' is not cpu or cuda", name));
}

int runGenerate(const GenerateCliOptions& o) {
    const bool haveText = !o.prompt.empty();
    const bool haveIds = !o.promptIds.empty();
    if (haveText == haveIds) throw ConfigError("give exactly one of --prompt TEXT or --prompt-ids 1,2,3");
    SamplingOptions sampling = o.sampling;
    sampling.stopAtEos = !o.ignoreEos;
    sampling.validate();
    const torch::Device device = parseDevice(o.device);

    LoadedModel loaded = loadModel(resolveModelDir(o.model), device);
    spdlog::info("model: {} ({} layout, {} parameters, stored {}), tokenizer: {}", loaded.dir.string(),
                 loaded.layout, loaded.model->numParameters(), loaded.storedDtype,
                 loaded.tokenizer ? loaded.tokenizer->kind() : "none");

    GenerateRequest request;
    request.options = sampling;
    request.weights = o.weights;
    request.promptIds = haveIds ? parsePromptIds(o.promptIds) : loaded.tokenizer->encode(o.prompt);

    if (!o.printIds && !o.noEcho) {
        std::fputs(haveText ? o.prompt.c_str() : loaded.tokenizer->decode(request.promptIds).c_str(), stdout);
        std::fflush(stdout);
    }
    TokenCallback stream;
    if (!o.printIds) {
        stream = [](int32_t, const std::string& text) {
            if (!text.empty()) {
                std::fwrite(text.data(), 1, text.size(), stdout);
                std::fflush(stdout);
            }
            return true;
        };
    }
    GenerateResult result = generate(*loaded.model, loaded.tokenizer.get(), request, stream);

    if (o.printIds) {
        std::string line;
        for (size_t i = 0; i < result.ids.size(); ++i) {
            if (i) line += ',';
            line += std::to_string(result.ids[i]);
        }
        std::puts(line.c_str());
    } else {
        std::fputc('\n', stdout);
    }
    std::fflush(stdout);
    for (const auto& w : result.warnings) spdlog::warn("{}", w);
    spdlog::info("prompt {} tokens in {:.1f} ms; generated {} tokens in {:.2f} s ({:.1f} tokens/s); "
                 "stop: {}; decode state {:.1f} KiB; weights {}",
                 result.promptTokens, result.promptSeconds * 1e3, result.ids.size(), result.decodeSeconds,
                 result.tokensPerSecond, toString(result.stopReason), result.stateBytes / 1024.0, result.weights);
    return 0;
}

void addGenerate(CLI::App& app, Runner& run) {
    auto* sub = app.add_subcommand("generate", "Generate text from a model folder, checkpoint or run folder");
    auto o = std::make_shared<GenerateCliOptions>();
    SamplingOptions& s = o->sampling;
    sub->add_option("--model", o->model, "Model folder, checkpoint folder or run folder")->required();
    sub->add_option("--prompt", o->prompt, "Prompt text");
    sub->add_option("--prompt-ids", o->promptIds, "Prompt as token ids, e.g. 1,2,3");
    sub->add_flag("--print-ids", o->printIds, "Print only the new token ids, comma-separated, on one line");
    sub->add_flag("--no-echo", o->noEcho, "Do not print the prompt before the continuation");
    sub->add_option("--temperature", s.temperature, "Softmax temperature; 0 = greedy")->capture_default_str();
    sub->add_option("--top-k", s.topK, "Keep the k most likely tokens (0 = off)")->capture_default_str();
    sub->add_option("--top-p", s.topP, "Nucleus sampling mass (1 = off)")->capture_default_str();
    sub->add_option("--min-p", s.minP, "Drop tokens below min-p x the top probability (0 = off)")
        ->capture_default_str();
    sub->add_option("--repetition-penalty", s.repetitionPenalty, "Penalty for recent tokens (1 = off)")
        ->capture_default_str();
    sub->add_option("--repetition-window", s.repetitionWindow, "Tokens the penalty looks back (0 = all)")
        ->capture_default_str();
    sub->add_option("--max-new-tokens", s.maxNewTokens, "Tokens to generate at most")->capture_default_str();
    sub->add_option("--seed", s.seed, "Sampling seed")->capture_default_str();
    sub->add_option("--stop", s.stopStrings, "Stop before this string (repeatable)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    sub->add_flag("--ignore-eos", o->ignoreEos, "Keep going past the end-of-document token");
    sub->add_option("--device", o->device, "cpu or cuda")->capture_default_str();
    sub->add_option("--weights", o->weights,
                    "Decoding weights: auto, fp32, bf16, f16, int8 (fused CPU decoder, Mamba) or reference (LibTorch)")
        ->check(CLI::IsMember({"auto", "fp32", "bf16", "f16", "int8", "reference"}))
        ->capture_default_str();
    sub->callback([&run, o] { run = [o] { return runGenerate(*o); }; });
}

}  // namespace

MTS_CLI_COMMAND(addGenerate);

}  // namespace mts::cli
