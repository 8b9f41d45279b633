// `mamba-studio-cli compare`: an architecture comparison suite (core/train/compare_suite.h).
// Each architecture is sized to the same parameter count and trained under the same budget,
// one after the other; the report folder gets report.md and SVG plots (this CLI has no Qt:
// PNG copies come from the studio). Ctrl-C stops after the current step with a checkpoint;
// re-running the same command resumes. stdout: one JSON object with the rows at the end.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "command.h"
#include "mts/core/corpus/data_loader.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/train/compare_suite.h"
#include "mts/core/train/presets.h"
#include "mts/core/train/small_data.h"

namespace {

struct CompareOptions {
    std::string data;
    std::string archs;
    std::string budget = "10m";
    std::string out;
    std::string modelPreset = "tiny";
    std::string memoryTier = "auto";
    std::string trainPreset = "auto";
    int64_t params = 0;
    std::vector<std::string> sets;
};

std::atomic<int> g_compareInterrupts{0};

void onCompareInterrupt(int) {
    if (g_compareInterrupts.fetch_add(1) >= 1) {
        std::signal(SIGINT, SIG_DFL);
        std::raise(SIGINT);
    }
}

std::vector<std::string> splitList(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

int runCompare(const CompareOptions& o) {
    mts::CompareConfig cfg;
    cfg.data = o.data;
    cfg.archs = splitList(o.archs);
    cfg.budget = mts::CompareBudget::parse(o.budget);
    cfg.outDir = o.out;
    cfg.targetParams = o.params;
    const std::string trainPreset = mts::composeCompareConfig(
        cfg, mts::PresetCatalog::load(), mts::CompareChoice{o.modelPreset, o.memoryTier, o.trainPreset, o.sets});
    spdlog::info("training preset: {}{}, precision {}", trainPreset,
                 o.trainPreset == "auto" ? fmt::format(" (small corpora, under {} training tokens, get small-data)",
                                                       mts::kSmallDataTokens)
                                         : std::string(),
                 mts::toString(cfg.train.precision));
    spdlog::info("compare: {} on {} under {} each (PNG plots need the studio; this CLI writes SVG)",
                 fmt::join(cfg.archs, ", "), o.data, cfg.budget.toString());

    g_compareInterrupts = 0;
    auto previous = std::signal(SIGINT, onCompareInterrupt);
    mts::CompareCallbacks cb;
    mts::CompareSuite* suitePtr = nullptr;
    cb.onLog = [](const std::string& line) { spdlog::info("{}", line); };
    cb.onProgress = [&](const mts::CompareProgress& p) {
        if (g_compareInterrupts > 0 && suitePtr) suitePtr->cancel();
        if (p.train.step % 50 == 0 || p.train.step == p.train.maxSteps)
            spdlog::info("[{}/{}] {} step {}{} loss {:.4f} {:.0f} tok/s", p.index + 1, p.count, p.arch, p.train.step,
                         p.train.maxSteps > 0 ? fmt::format("/{}", p.train.maxSteps) : "", p.train.loss,
                         p.train.tokensPerSec);
    };
    cb.onRunDone = [](const mts::CompareRow& r) {
        spdlog::info("{}: {} (best val loss {:.4f} nats/token, {:.4f} nats/byte)", r.arch, r.status, r.bestValLoss,
                     r.bestNatsPerByte());
    };
    mts::CompareSuite suite(cfg, cb);
    suitePtr = &suite;
    const mts::CompareResult r = suite.run();
    std::signal(SIGINT, previous);

    nlohmann::json out{{"ok", r.ok}, {"cancelled", r.cancelled}, {"message", r.message},
                       {"report", r.report.string()}, {"rows", nlohmann::json::array()}};
    for (const auto& row : r.rows)
        out["rows"].push_back({{"arch", row.arch},
                               {"status", row.status},
                               {"run", row.runDir.string()},
                               {"total_params", row.totalParams},
                               {"active_params", row.activeParams},
                               {"tokens", row.tokens},
                               {"flops", row.flops},
                               {"tokens_per_sec", row.tokensPerSec},
                               {"best_val_loss", row.bestValLoss},
                               {"best_bits_per_byte", row.bestBitsPerByte},
                               {"best_nats_per_byte", row.bestNatsPerByte()},
                               {"peak_rss_bytes", row.peakRssBytes}});
    for (const auto& w : r.warnings) spdlog::warn("{}", w);
    std::printf("%s\n", out.dump(2).c_str());
    if (!r.ok && !r.cancelled) {
        std::fprintf(stderr, "error: %s\n", r.message.c_str());
        return 1;
    }
    return 0;
}

void addCompare(CLI::App& app, mts::cli::Runner& run) {
    auto* sub = app.add_subcommand(
        "compare", "Train several architectures at equal parameters under one budget and write a report folder");
    auto o = std::make_shared<CompareOptions>();
    sub->add_option("--data", o->data, "Corpus folder or text file/folder (as train --data)")->required();
    sub->add_option("--archs", o->archs,
                    "Comma-separated architectures (default: every one the core knows: " +
                        fmt::format("{}", fmt::join(mts::knownArchitectureIds(), ",")) + ")");
    sub->add_option("--budget", o->budget, "Per architecture: 10m (minutes), 50000tokens, or 1e12flops (6 N_active T)")
        ->capture_default_str();
    sub->add_option("--out", o->out, "The report folder (report.md, plots, runs/)")->required();
    sub->add_option("--model-preset", o->modelPreset, "Shapes (layers, heads) per architecture")->capture_default_str();
    sub->add_option("--memory-tier", o->memoryTier, "Batch and precision settings: auto (this machine's), cpu, cpu-bf16, gpu-8 ...")->capture_default_str();
    sub->add_option("--train-preset", o->trainPreset,
                    "Optimizer and schedule; auto = small-data below 5M training tokens, else default")
        ->capture_default_str();
    sub->add_option("--params", o->params, "Parameters every model is sized to (default: the first architecture's preset)");
    sub->add_option("--set", o->sets, "key=value overrides for every run, e.g. --set seq_len=128 --set model.dropout=0.1");
    sub->callback([&run, o] { run = [o] { return runCompare(*o); }; });
}

MTS_CLI_COMMAND(addCompare);

}  // namespace
