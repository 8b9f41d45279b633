// `mamba-studio-cli generate`: load a model (folder, checkpoint or run) and stream a continuation.
// stdout carries only the generated text (or, with --print-ids, one line of ids); stats go to stderr.
// --interactive: a conversation in the terminal, one turn per stdin line (core's Conversation).
// --dump-logits FILE: no generation; the prompt's full-sequence logits into FILE (safetensors:
// "input_ids" I64 (1, L), "logits" F32 (1, L, V)), for parity checks (scripts/check-hf-transformers.py).
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "int_list.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/formats/safetensors.h"
#include "mts/core/generate/conversation.h"
#include "mts/core/generate/generation.h"
#include "mts/core/generate/vocabulary.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/torch_compat.h"

#include <unistd.h>

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
    bool interactive = false;
    std::string weights = "auto";
    std::string dumpLogits;
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

std::string joinIds(const std::vector<int32_t>& ids) {
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) line += ',';
        line += std::to_string(ids[i]);
    }
    return line;
}

TokenCallback streamToStdout() {
    return [](int32_t, const std::string& text) {
        if (!text.empty()) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
        }
        return true;
    };
}

void logStats(const GenerateResult& result) {
    for (const auto& w : result.warnings) spdlog::warn("{}", w);
    spdlog::info("prompt {} tokens in {:.1f} ms; generated {} tokens in {:.2f} s ({:.1f} tokens/s); "
                 "stop: {}; decode state {:.1f} KiB; weights {}",
                 result.promptTokens, result.promptSeconds * 1e3, result.ids.size(), result.decodeSeconds,
                 result.tokensPerSecond, toString(result.stopReason), result.stateBytes / 1024.0, result.weights);
}

// One turn per stdin line: the line continues the transcript (as typed, without its newline),
// the continuation is printed (or its ids, with --print-ids) and ends with a newline. An empty
// line asks for more; "/reset" starts a new conversation. Ends at end of input.
int runInteractive(const GenerateCliOptions& o, LoadedModel& loaded, const SamplingOptions& sampling,
                   const std::vector<int32_t>& firstTurn) {
    std::vector<std::string> notes;
    const std::unique_ptr<InferenceModel> packed = packForDecoding(*loaded.model, o.weights, notes);
    for (const auto& n : notes) spdlog::warn("{}", n);
    Conversation chat(*loaded.model, loaded.tokenizer.get(), packed.get());
    const bool tty = ::isatty(STDIN_FILENO) != 0;
    auto turn = [&](const std::vector<int32_t>& ids) {
        const GenerateResult r = chat.sendIds(ids, sampling, o.printIds ? TokenCallback{} : streamToStdout());
        if (o.printIds) std::fputs(joinIds(r.ids).c_str(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
        logStats(r);
    };
    if (tty) std::fputs("Type a line and Enter to continue the conversation; /reset starts over; Ctrl+D ends.\n", stderr);
    if (!firstTurn.empty()) turn(firstTurn);
    for (std::string line;;) {
        if (tty) std::fputs("> ", stderr);
        if (!std::getline(std::cin, line)) break;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line == "/reset") {
            chat.reset();
            spdlog::info("conversation reset");
            continue;
        }
        turn(loaded.tokenizer->encode(line));
    }
    return 0;
}

// One forward over the prompt (eval, no grad) on the model's device; logits written in fp32.
int dumpPromptLogits(LoadedModel& loaded, const std::vector<int32_t>& ids, const std::string& file,
                     const torch::Device& device) {
    const int64_t vocab = loaded.model->config().vocabSize;
    for (int32_t id : ids)
        if (id >= vocab) throw ConfigError(fmt::format("--prompt-ids: {} is not below the model's vocabulary {}", id, vocab));
    torch::NoGradGuard noGrad;
    loaded.model->eval();
    const torch::Tensor input = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).unsqueeze(0);
    const torch::Tensor logits = loaded.model->forward(input.to(device)).to(torch::kCPU, torch::kFloat32);  // (1, L, V)
    writeSafetensors(file, {{"input_ids", input}, {"logits", logits}}, {{"model", loaded.dir.string()}});
    spdlog::info("logits ({} x {} x {}) written to {}", logits.size(0), logits.size(1), logits.size(2), file);
    return 0;
}

int runGenerate(const GenerateCliOptions& o) {
    const bool haveText = !o.prompt.empty();
    const bool haveIds = !o.promptIds.empty();
    if (haveText && haveIds) throw ConfigError("give only one of --prompt TEXT or --prompt-ids 1,2,3");
    if (!o.interactive && !haveText && !haveIds)
        throw ConfigError("give one of --prompt TEXT or --prompt-ids 1,2,3 (or --interactive)");
    SamplingOptions sampling = o.sampling;
    sampling.stopAtEos = !o.ignoreEos;
    sampling.validate();
    const torch::Device device = parseDevice(o.device);

    LoadedModel loaded = loadModel(resolveModelDir(o.model), device);
    spdlog::info("model: {} ({} layout, {} parameters, stored {}), tokenizer: {}", loaded.dir.string(),
                 loaded.layout, loaded.model->numParameters(), loaded.storedDtype,
                 loaded.tokenizer ? loaded.tokenizer->kind() : "none");
    if (auto note = vocabularyNote(loaded.model->config(), loaded.tokenizer.get())) spdlog::warn("{}", *note);

    std::vector<int32_t> promptIds;
    if (haveIds) promptIds = parsePromptIds(o.promptIds);
    else if (haveText) promptIds = loaded.tokenizer->encode(o.prompt);
    if (!o.dumpLogits.empty()) {
        if (promptIds.empty()) throw ConfigError("--dump-logits: the prompt has no tokens");
        return dumpPromptLogits(loaded, promptIds, o.dumpLogits, device);
    }
    if (o.interactive) return runInteractive(o, loaded, sampling, promptIds);

    GenerateRequest request;
    request.options = sampling;
    request.weights = o.weights;
    request.promptIds = promptIds;
    if (!o.printIds && !o.noEcho) {
        const std::string echo = haveText ? o.prompt : decodeForDisplay(*loaded.tokenizer, request.promptIds);
        std::fputs(echo.c_str(), stdout);
        std::fflush(stdout);
    }
    GenerateResult result =
        generate(*loaded.model, loaded.tokenizer.get(), request, o.printIds ? TokenCallback{} : streamToStdout());

    if (o.printIds) std::fputs(joinIds(result.ids).c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    logStats(result);
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
    sub->add_flag("--interactive", o->interactive,
                  "Conversation: each stdin line continues the transcript (state carried); /reset starts over");
    sub->add_option("--weights", o->weights,
                    "Decoding weights: auto, fp32, bf16, f16, int8 (fused CPU decoder, Mamba and Mamba-2) or reference (LibTorch)")
        ->check(CLI::IsMember({"auto", "fp32", "bf16", "f16", "int8", "reference"}))
        ->capture_default_str();
    sub->add_option("--dump-logits", o->dumpLogits,
                    "Write the prompt's logits (safetensors: input_ids, logits) to this file instead of generating");
    sub->callback([&run, o] { run = [o] { return runGenerate(*o); }; });
}

}  // namespace

MTS_CLI_COMMAND(addGenerate);

}  // namespace mts::cli
