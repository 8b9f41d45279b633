// `mamba-studio-cli info --model DIR`: what a model folder (or run/checkpoint) holds —
// architecture, layout, parameter count, stored dtype, config summary — on stdout.
// With --json the same as one JSON object. Small models are also fully loaded to verify that
// every key and shape matches (--no-verify skips that).
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.h"
#include "mts/core/formats/model_io.h"

namespace mts::cli {
namespace {

struct InfoOptions {
    std::string model;
    bool json = false;
    bool noVerify = false;
};

// Above this the full load is skipped: info should stay instant on multi-GB checkpoints.
constexpr int64_t kVerifyLimitBytes = int64_t{2} << 30;

std::string humanCount(int64_t n) {
    if (n >= 1000000000) return fmt::format("{:.2f}B", n / 1e9);
    if (n >= 1000000) return fmt::format("{:.2f}M", n / 1e6);
    if (n >= 1000) return fmt::format("{:.1f}K", n / 1e3);
    return std::to_string(n);
}

int runInfo(const InfoOptions& o) {
    ModelInfo info = inspectModel(o.model);
    std::string verified = "skipped";
    int64_t tokenizerVocab = -1;
    std::string tokenizerKind;
    if (!o.noVerify && info.weightBytes <= kVerifyLimitBytes) {
        LoadedModel lm = loadModel(info.dir);  // throws FormatError on any mismatch
        verified = "ok";
        info.config = lm.model->config();
        tokenizerVocab = lm.tokenizer->vocabSize();
        tokenizerKind = lm.tokenizer->kind();
    }
    const ModelConfig& c = info.config;
    if (o.json) {
        nlohmann::json j{{"dir", info.dir.string()},
                         {"architecture", toString(c.arch)},
                         {"layout", info.layout},
                         {"parameters", info.numParameters},
                         {"dtype", info.storedDtype},
                         {"weight_bytes", info.weightBytes},
                         {"tokenizer", info.tokenizerSource},
                         {"verified", verified},
                         {"config", c.toJson()}};
        if (tokenizerVocab >= 0) j["tokenizer_vocab"] = tokenizerVocab;
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    fmt::print("model:        {}\n", info.dir.string());
    fmt::print("architecture: {}\n", toString(c.arch));
    const char* hfLayout = c.arch == Architecture::Mamba2 ? "hf (Hugging Face Mamba2ForCausalLM)"
                                                          : "hf (Hugging Face MambaForCausalLM)";
    fmt::print("layout:       {}\n", info.layout == "hf" ? hfLayout
                                      : info.layout == "state-spaces" ? "state-spaces (original mamba_ssm)"
                                                                      : "studio (config.json with mts_config)");
    fmt::print("parameters:   {} ({})\n", humanCount(info.numParameters), info.numParameters);
    fmt::print("dtype:        {} ({:.1f} MB of weights in {} file{})\n", info.storedDtype, info.weightBytes / 1e6,
               info.weightFiles.size(), info.weightFiles.size() == 1 ? "" : "s");
    fmt::print("vocab:        {} (embedding rows {})\n", c.vocabSize, c.paddedVocab());
    fmt::print("tokenizer:    {}{}\n", info.tokenizerSource,
               tokenizerVocab >= 0 ? fmt::format(", {} with {} ids", tokenizerKind, tokenizerVocab) : "");
    fmt::print("d_model:      {}\nn_layer:      {}\n", c.dModel, c.nLayer);
    if (c.arch == Architecture::Mamba) {
        fmt::print("d_state:      {}\nd_conv:       {}\nexpand:       {} (d_inner {})\ndt_rank:      {}\n", c.dState,
                   c.dConv, c.expand, c.dInner(), c.resolvedDtRank());
    } else if (c.arch == Architecture::Mamba2) {
        fmt::print("d_state:      {}\nd_conv:       {}\nexpand:       {} (d_inner {})\nheads:        {} x {} (groups {})\n"
                   "chunk_size:   {}\n",
                   c.dState, c.dConv, c.expand, c.dInner(), c.dInner() / c.headDim, c.headDim, c.nGroups, c.chunkSize);
    } else if (c.arch != Architecture::Linear) {
        fmt::print("n_head:       {}\npositions:    {} (max {})\n", c.nHead, c.positions, c.maxSeqLen);
        if (c.arch == Architecture::Moe)
            fmt::print("experts:      top-{} of {} per layer (aux loss weight {})\n", c.expertsPerToken, c.nExperts,
                       c.auxLossWeight);
    } else {
        fmt::print("context:      {}\n", c.context);
    }
    fmt::print("norm_eps:     {}\ntied head:    {}\n", c.normEps, c.tieEmbeddings ? "yes" : "no");
    fmt::print("verified:     {}\n", verified == "ok" ? "ok (every tensor present with the config's shape)"
                                                      : "skipped (weights not loaded)");
    return 0;
}

void addInfo(CLI::App& app, Runner& run) {
    auto* sub = app.add_subcommand("info", "Describe a model folder, checkpoint or run (architecture, size, dtype)");
    auto opts = std::make_shared<InfoOptions>();
    sub->add_option("--model,-m", opts->model, "Model folder (HF or state-spaces layout), checkpoint or run folder")
        ->required();
    sub->add_flag("--json", opts->json, "Print one JSON object instead of text");
    sub->add_flag("--no-verify", opts->noVerify, "Read headers only; do not load the weights");
    sub->callback([&run, opts] { run = [opts] { return runInfo(*opts); }; });
}
MTS_CLI_COMMAND(addInfo);

}  // namespace
}  // namespace mts::cli
