// `mamba-studio-cli train`: trains a model on a corpus with presets, headless.
// Progress: a live line on a terminal (stderr), plain log lines otherwise. Ctrl-C cancels:
// the current step finishes, a checkpoint is saved, and the command exits 0. A second
// Ctrl-C kills at once (the last complete checkpoint stays valid).
// stdout: one JSON object with the result at the end.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "command.h"
#include "train_ranks.h"
#include "mts/core/model/architectures.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/train/memory_estimate.h"
#include "mts/core/train/presets.h"
#include "mts/core/train/run_dir.h"
#include "mts/core/train/trainer.h"

namespace {

struct TrainOptions {
    std::string data;
    std::string arch = "mamba";
    std::string modelPreset = "mini";
    std::string memoryTier = "cpu";
    std::string trainPreset = "default";
    std::string configFile;
    std::vector<std::string> sets;
    int64_t maxSteps = -1;
    double maxMinutes = -1;
    double checkpointMinutes = -1;
    std::string runsDir;
    std::string name;
    std::string resume;
    std::string initFrom;
    bool estimateOnly = false;
    bool printConfig = false;
    mts::cli::TrainRankOptions ranks;
};

std::atomic<int> g_interrupts{0};

void onInterrupt(int) {
    if (g_interrupts.fetch_add(1) >= 1) {
        std::signal(SIGINT, SIG_DFL);
        std::raise(SIGINT);
    }
}

std::string duration(double sec) {
    if (sec < 0) return "?";
    auto s = static_cast<int64_t>(sec);
    if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s / 60) % 60);
    return fmt::format("{}m{:02d}s", s / 60, s % 60);
}

mts::TrainConfig buildConfig(const TrainOptions& o) {
    mts::TrainConfig cfg;
    if (!o.resume.empty()) {
        cfg = mts::Trainer::resumeConfig(o.resume);
    } else {
        mts::PresetChoice choice{o.arch, o.modelPreset, o.memoryTier, o.trainPreset};
        cfg = mts::composeConfig(mts::PresetCatalog::load(), choice);
    }
    if (!o.configFile.empty()) {
        std::ifstream in(o.configFile);
        if (!in) throw mts::FormatError(o.configFile, "cannot open");
        auto j = nlohmann::json::parse(in, nullptr, false);
        if (j.is_discarded()) throw mts::FormatError(o.configFile, "not valid JSON");
        auto merged = cfg.toJson();
        mts::mergeJson(merged, j);
        cfg = mts::TrainConfig::fromJson(merged);
    }
    if (!o.data.empty()) cfg.data = o.data;
    if (!o.initFrom.empty()) cfg.initFrom = o.initFrom;
    for (auto& s : o.sets) cfg.set(s);
    if (o.maxSteps >= 0) {
        cfg.maxSteps = o.maxSteps;
        if (o.maxMinutes < 0) cfg.maxMinutes = 0;
    }
    if (o.maxMinutes >= 0) {
        cfg.maxMinutes = o.maxMinutes;
        if (o.maxSteps < 0) cfg.maxSteps = 0;
    }
    if (o.checkpointMinutes >= 0) cfg.checkpointMinutes = o.checkpointMinutes;
    // A fine-tuned model is the pretrained one: show and estimate that (headers only, cheap).
    if (o.resume.empty()) cfg.model = mts::effectiveModelConfig(cfg);
    return cfg;
}

int runTrain(const TrainOptions& o) {
    if (o.data.empty() && o.resume.empty() && o.configFile.empty())
        throw mts::ConfigError("train: --data is required (or --resume RUN, or --config FILE with \"data\")");
    mts::TrainConfig cfg = buildConfig(o);
    if (o.printConfig) {
        std::printf("%s\n", cfg.toJson().dump(2).c_str());
        return 0;
    }
    {
        // Vocabulary is only known after opening the data; the byte size is a fair guess here.
        mts::TrainConfig est = cfg;
        if (o.resume.empty()) est.model.vocabSize = 257;
        int64_t budget = 0;
        if (o.resume.empty()) {
            try {
                budget = mts::memoryTierBytes(mts::PresetCatalog::load(), o.memoryTier);
            } catch (const std::exception&) {
            }
        }
        auto e = mts::estimateMemory(est, cfg.device == "cuda", budget);
        spdlog::info("memory estimate: {}", e.summary());
        if (o.estimateOnly) {
            nlohmann::json j{{"parameters", e.parameters},        {"param_bytes", e.paramBytes},
                             {"grad_bytes", e.gradBytes},         {"optimizer_bytes", e.optimizerBytes},
                             {"activation_bytes", e.activationBytes}, {"workspace_bytes", e.workspaceBytes},
                             {"runtime_bytes", e.runtimeBytes},   {"peak_bytes", e.peakBytes},
                             {"budget_bytes", e.budgetBytes},     {"fits", e.fits}};
            std::printf("%s\n", j.dump().c_str());
            return 0;
        }
    }

    mts::TrainStart start;
    start.runsDir = o.runsDir.empty() ? mts::defaultRunsDir() : std::filesystem::path(o.runsDir);
    start.name = o.name;
    start.resumeFrom = o.resume;
    mts::cli::TrainRanks ranks(o.ranks);  // --nproc: starts ranks 1..N-1 now
    start.distributed = ranks.options();

    const bool tty = ::isatty(STDERR_FILENO) == 1;
    bool lineOpen = false;
    auto endLine = [&] {
        if (lineOpen) std::fputc('\n', stderr);
        lineOpen = false;
    };
    std::unique_ptr<mts::Trainer> trainer;
    mts::TrainCallbacks cb;
    const int64_t logEvery = cfg.logEvery;
    cb.onProgress = [&](const mts::TrainProgress& p) {
        if (g_interrupts.load() > 0 && !trainer->isCancelled()) {
            endLine();
            spdlog::warn("interrupted: finishing this step and saving a checkpoint (Ctrl-C again to kill)");
            trainer->cancel();
        }
        std::string steps = p.maxSteps > 0 ? fmt::format("{}/{}", p.step, p.maxSteps) : fmt::format("{}", p.step);
        std::string line = fmt::format("step {} | loss {:.4f} | lr {:.2e} | gnorm {:.2f} | {:.0f} tok/s | {} | eta {}",
                                       steps, p.loss, p.lr, p.gradNorm, p.tokensPerSec, duration(p.elapsedSec),
                                       duration(p.etaSec));
        if (tty) {
            std::fprintf(stderr, "\r\033[K%s", line.c_str());
            std::fflush(stderr);
            lineOpen = true;
        } else if (p.step % logEvery == 0 || p.skipped) {
            spdlog::info("{}", line);
        }
    };
    cb.onEval = [&](const mts::EvalReport& r) {
        endLine();
        spdlog::info("eval step {}: val loss {:.4f} | ppl {:.2f} | {:.4f} bits/byte{}", r.step, r.valLoss,
                     r.perplexity, r.bitsPerByte, r.best ? " (best)" : "");
    };
    cb.onSample = [&](const mts::SampleReport& s) {
        endLine();
        spdlog::info("sample step {} [{}]: {}", s.step, s.prompt, s.text);
    };
    cb.onCheckpoint = [&](const mts::CheckpointReport& c) {
        endLine();
        spdlog::info("checkpoint: {}{}", c.dir.string(), c.best ? " (best)" : "");
    };
    cb.onLog = [&](const std::string& s) {
        endLine();
        spdlog::info("{}", s);
    };
    cb.onWarning = [&](const std::string& s) {
        endLine();
        spdlog::warn("{}", s);
    };

    trainer = std::make_unique<mts::Trainer>(cfg, start, cb);
    g_interrupts = 0;
    auto previous = std::signal(SIGINT, onInterrupt);
    auto previousTerm = std::signal(SIGTERM, onInterrupt);
    mts::TrainResult r = trainer->run();
    std::signal(SIGINT, previous);
    std::signal(SIGTERM, previousTerm);
    endLine();
    const int code = ranks.finish(r);
    if (!ranks.writer()) {
        if (code != 0) spdlog::error("{}", r.message);
        return code;
    }

    nlohmann::json out{{"stop_reason", mts::toString(r.stopReason)},
                       {"message", r.message},
                       {"run_dir", r.runDir.string()},
                       {"last_checkpoint", r.lastCheckpoint.string()},
                       {"best_checkpoint", r.bestCheckpoint.string()},
                       {"steps", r.steps},
                       {"tokens_seen", r.tokensSeen},
                       {"parameters", r.numParameters},
                       {"final_loss", r.finalLoss},
                       {"final_val_loss", r.finalValLoss},
                       {"best_val_loss", r.bestValLoss},
                       {"final_bits_per_byte", r.finalBitsPerByte},
                       {"tokens_per_sec", r.tokensPerSec},
                       {"elapsed_sec", r.elapsedSec},
                       {"skipped_steps", r.skippedSteps},
                       {"peak_rss_bytes", r.peakRssBytes},
                       {"warnings", r.warnings}};
    std::printf("%s\n", out.dump().c_str());
    std::fflush(stdout);
    if (code != 0) {
        spdlog::error("{}", r.message);
        return code;
    }
    spdlog::info("done: {} ({} steps, run folder {})", r.message, r.steps, r.runDir.string());
    return 0;
}

void addTrain(CLI::App& app, mts::cli::Runner& run) {
    auto* sub = app.add_subcommand("train", "Train a language model (Mamba, Transformer or a baseline: see --arch) on a corpus or text");
    auto o = std::make_shared<TrainOptions>();
    sub->add_option("--data", o->data, "Corpus folder (train.bin/val.bin), a .txt file, or a folder of .txt");
    std::string archHelp;
    for (const mts::ArchitectureInfo& a : mts::architectureList())
        archHelp += (archHelp.empty() ? "" : " | ") + a.id;
    sub->add_option("--arch", o->arch, "Architecture: " + archHelp)->check(CLI::IsMember(mts::architectureIds()));
    sub->add_option("--model-preset", o->modelPreset, "tiny | mini | small | medium | large (or a user preset)");
    sub->add_option("--memory-tier", o->memoryTier, "auto (this machine's) | cpu | cpu-bf16 | gpu-8 | gpu-12 | gpu-16 | gpu-24 | gpu-32 | gpu-48");
    sub->add_option("--train-preset", o->trainPreset, "default | fast | careful (or a user preset)");
    sub->add_option("--config", o->configFile, "A JSON training config (e.g. a run's config.json) over the presets");
    sub->add_option("--set", o->sets, "key=value overrides, e.g. --set lr=3e-4 --set model.d_model=192");
    auto* steps = sub->add_option("--max-steps", o->maxSteps, "Optimizer steps to train");
    sub->add_option("--max-minutes", o->maxMinutes, "Wall-clock limit in minutes")->excludes(steps);
    sub->add_option("--checkpoint-minutes", o->checkpointMinutes,
                    "Also checkpoint every N minutes of wall-clock time (default 10; 0 = only by steps), "
                    "beside checkpoint_every steps: whichever comes first")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--runs-dir", o->runsDir, "Folder of runs (default: $XDG_DATA_HOME/mamba-studio/runs)");
    sub->add_option("--name", o->name, "Run name (default <arch>-<date>-<time>; never overwrites)");
    sub->add_option("--resume", o->resume, "Continue a run folder (its latest checkpoint) or a checkpoint folder");
    sub->add_option("--init-from", o->initFrom,
                    "Fine-tune: start from this model folder (Hugging Face or state-spaces layout, checkpoint or "
                    "run); its config and tokenizer are used")
        ->excludes("--resume");
    sub->add_flag("--estimate-memory", o->estimateOnly, "Print the memory estimate as JSON and exit");
    sub->add_flag("--print-config", o->printConfig, "Print the effective config as JSON and exit");
    mts::cli::addTrainRankOptions(*sub, o->ranks);
    sub->callback([&run, o] { run = [o] { return runTrain(*o); }; });
}

MTS_CLI_COMMAND(addTrain);

}  // namespace
