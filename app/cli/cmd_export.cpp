// `mamba-studio-cli export --model DIR --format hf|gguf [--dtype f32|f16] --out PATH`:
// a studio model (or an imported one) to a Hugging Face folder or a llama.cpp GGUF file.
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "mts/core/formats/export.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/runtime/errors.h"

namespace mts::cli {
namespace {

struct ExportCliOptions {
    std::string model;
    std::string format;
    std::string dtype = "f32";
    std::string out;
};

int runExport(const ExportCliOptions& o) {
    const ExportDtype dtype = exportDtypeFromString(o.dtype);
    LoadedModel lm = loadModel(o.model);
    ExportResult r = o.format == "hf" ? exportHuggingFace(*lm.model, *lm.tokenizer, o.out, dtype)
                                      : exportGguf(*lm.model, *lm.tokenizer, o.out, dtype);
    for (const auto& w : r.warnings) spdlog::warn("{}", w);
    for (const auto& f : r.files) fmt::print("{}\n", f.string());
    spdlog::info("exported {} ({}, {} parameters) as {} {}", lm.dir.string(), toString(lm.model->config().arch),
                 lm.model->numParameters(), o.format, o.dtype);
    return 0;
}

void addExport(CLI::App& app, Runner& run) {
    auto* sub = app.add_subcommand("export", "Export a model to Hugging Face (folder) or GGUF (llama.cpp file)");
    auto opts = std::make_shared<ExportCliOptions>();
    sub->add_option("--model,-m", opts->model, "Model folder, checkpoint or run folder")->required();
    sub->add_option("--format,-f", opts->format, "hf (transformers folder) or gguf (llama.cpp)")
        ->required()
        ->check(CLI::IsMember({"hf", "gguf"}));
    sub->add_option("--dtype", opts->dtype, "Weights: f32, f16 or q8_0 (GGUF only: llama.cpp's 8-bit blocks)")
        ->check(CLI::IsMember({"f32", "f16", "q8_0"}));
    sub->add_option("--out,-o", opts->out, "Output folder (hf) or .gguf file (gguf)")->required();
    sub->callback([&run, opts] { run = [opts] { return runExport(*opts); }; });
}
MTS_CLI_COMMAND(addExport);

}  // namespace
}  // namespace mts::cli
