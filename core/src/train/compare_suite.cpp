// The comparison suite's engine: one normal training run per architecture, resumable.
#include "mts/core/train/compare_suite.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mts/core/corpus/data_loader.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/durable_file.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/train/checkpoint.h"
#include "mts/core/train/memory_estimate.h"
#include "mts/core/train/run_reader.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mts {
namespace {

constexpr const char* kSuiteFormat = "mts-compare-suite";

// The layers the model really has (the report's "d_model x layers"): the one-layer attention
// baseline has one whatever n_layer says, the linear baseline none.
int64_t modelLayers(const ModelConfig& m) {
    switch (m.arch) {
        case Architecture::Attention1: return 1;
        case Architecture::Linear: return 0;
        default: return m.nLayer;
    }
}

json readSuiteFile(const fs::path& file) {
    std::ifstream in(file);
    if (!in) return json();
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("format", "") != kSuiteFormat)
        throw FormatError(file.string(), "not a comparison suite file (expected format " + std::string(kSuiteFormat) +
                                             "); choose another --out folder");
    return j;
}

// Linux: "5" resets the peak RSS (VmHWM) to the current RSS, so each run's peak is its own.
bool resetPeakRss() {
    std::ofstream f("/proc/self/clear_refs");
    if (!f) return false;
    f << "5";
    f.flush();
    return static_cast<bool>(f);
}

json rowToJson(const CompareRow& r) {
    return json{{"arch", r.arch},
                {"run", r.runDir.filename().string()},
                {"d_model", r.dModel},
                {"n_layer", r.nLayer},
                {"total_params", r.totalParams},
                {"active_params", r.activeParams},
                {"active_non_embedding_params", r.activeNonEmbeddingParams},
                {"peak_rss_bytes", r.peakRssBytes}};
}

// Fills the row's training figures from its run folder (metrics.jsonl, run.json).
void readRowFigures(CompareRow& row) {
    const RunMetrics m = readRunMetrics(row.runDir);
    row.tokens = 0;
    for (const auto& p : m.loss) row.tokens = std::max(row.tokens, p.tokens);
    for (const auto& p : m.valLoss) row.tokens = std::max(row.tokens, p.tokens);
    row.flops = 6.0 * static_cast<double>(row.activeNonEmbeddingParams) * row.tokens;
    double sum = 0;
    for (const auto& p : m.tokensPerSec) sum += p.value;
    row.tokensPerSec = m.tokensPerSec.empty() ? 0.0 : sum / static_cast<double>(m.tokensPerSec.size());
    row.bestValLoss = -1.0;
    for (size_t i = 0; i < m.valLoss.size(); ++i) {
        if (row.bestValLoss >= 0 && m.valLoss[i].value >= row.bestValLoss) continue;
        row.bestValLoss = m.valLoss[i].value;
        for (const auto& b : m.valBitsPerByte)
            if (b.step == m.valLoss[i].step) row.bestBitsPerByte = b.value;
    }
    row.elapsedSec = m.elapsedSeconds;
    for (const auto& e : m.valElapsedSec) row.elapsedSec = std::max(row.elapsedSec, e.value);
}

}  // namespace

CompareSuite::CompareSuite(CompareConfig config, CompareCallbacks callbacks)
    : m_config(std::move(config)), m_callbacks(std::move(callbacks)) {}

void CompareSuite::cancel() {
    m_cancel = true;
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_trainer) m_trainer->cancel();
}

CompareResult CompareSuite::run() {
    CompareResult result;
    auto log = [&](const std::string& line) {
        if (m_callbacks.onLog) m_callbacks.onLog(line);
    };
    CompareConfig& c = m_config;
    try {
        const std::vector<std::string> known = knownArchitectureIds();
        if (c.archs.empty()) c.archs = known;
        for (const auto& a : c.archs) architectureFromString(a);  // throws naming the accepted ids
        if (c.outDir.empty()) throw ConfigError("out: the report folder is required");
        std::error_code ec;
        fs::create_directories(c.outDir / "runs", ec);
        if (ec) throw FormatError(c.outDir.string(), "cannot create the report folder: " + ec.message());
        const fs::path dataPath = fs::absolute(c.data, ec).lexically_normal();
        const int64_t vocab =
            openTrainData(dataPath, c.train.valFraction, c.train.seqLen, nullptr, nullptr, c.train.textTokenizer)
                .tokenizer->vocabSize();

        // The shapes, sized to one parameter count.
        std::vector<ModelConfig> models;
        for (const auto& a : c.archs) {
            ModelConfig shape;
            shape.arch = architectureFromString(a);
            for (const auto& s : c.shapes)
                if (s.arch == shape.arch) shape = s;
            shape.vocabSize = vocab;
            if (shape.positions == "learned") shape.maxSeqLen = c.train.seqLen;
            models.push_back(shape);
        }
        const int64_t target = c.targetParams > 0 ? c.targetParams : countParameters(models.front());
        for (auto& m : models) m = sizeModelForParameters(m, target);

        // suite.json: a re-run of the same suite continues it; another suite's folder is refused.
        const fs::path suiteFile = c.outDir / "suite.json";
        json suite = readSuiteFile(suiteFile);
        json identity{{"data", dataPath.string()}, {"budget", c.budget.toString()}, {"archs", c.archs},
                      {"target_params", target}};
        // Runs tokenized differently do not belong in one table (byte-level suites keep the
        // identity they had before the setting existed).
        if (c.train.textTokenizer != "byte") identity["text_tokenizer"] = c.train.textTokenizer;
        if (suite.is_object()) {
            if (suite.value("identity", json()) != identity)
                throw ConfigError(fmt::format("out: {} holds another suite ({}); this one is {}: choose another --out "
                                              "folder",
                                              c.outDir.string(), suite.value("identity", json()).dump(),
                                              identity.dump()));
        } else {
            suite = json{{"format", kSuiteFormat}, {"version", 1}, {"identity", identity}, {"runs", json::object()}};
        }
        auto saveSuite = [&] { writeFileAtomic(suiteFile, suite.dump(2) + "\n"); };
        saveSuite();
        log(fmt::format("suite: {} architectures at ~{} parameters, budget {}, report in {}", c.archs.size(), target,
                        c.budget.toString(), c.outDir.string()));

        bool peakPerRun = true;
        for (size_t i = 0; i < c.archs.size() && !m_cancel; ++i) {
            const std::string& arch = c.archs[i];
            json& entry = suite["runs"][arch];
            CompareRow row;
            row.arch = arch;
            if (entry.is_object() && entry.value("done", false)) {
                row.runDir = c.outDir / "runs" / entry.value("run", "");
                row.totalParams = entry.value("total_params", int64_t(0));
                row.activeParams = entry.value("active_params", int64_t(0));
                row.activeNonEmbeddingParams = entry.value("active_non_embedding_params", int64_t(0));
                row.dModel = entry.value("d_model", int64_t(0));
                row.nLayer = modelLayers(models[i]);
                row.peakRssBytes = entry.value("peak_rss_bytes", int64_t(0));
                row.status = kFinishedBeforeStatus;
                readRowFigures(row);
                log(fmt::format("{}: finished before, skipped", arch));
                result.rows.push_back(row);
                if (m_callbacks.onRunDone) m_callbacks.onRunDone(row);
                continue;
            }
            TrainConfig cfg = c.train;
            cfg.data = dataPath.string();
            cfg.model = models[i];
            {
                torch::NoGradGuard noGrad;
                LanguageModel probe = createModel(cfg.model);
                row.totalParams = probe->numParameters();
                row.activeNonEmbeddingParams = probe->numActiveNonEmbeddingParameters();
                row.activeParams = row.totalParams - probe->numNonEmbeddingParameters() + row.activeNonEmbeddingParams;
            }
            row.dModel = cfg.model.dModel;
            row.nLayer = modelLayers(cfg.model);
            const int64_t stepTokens = cfg.microBatch * cfg.gradAccum * cfg.seqLen;
            if (c.budget.kind == CompareBudget::Kind::Minutes) {
                cfg.maxMinutes = c.budget.value;
                cfg.maxSteps = 0;
                if (cfg.evalEvery <= 0) cfg.evalEvery = 50;
            } else {
                const double tokens = c.budget.kind == CompareBudget::Kind::Tokens
                                          ? c.budget.value
                                          : c.budget.value / (6.0 * static_cast<double>(row.activeNonEmbeddingParams));
                cfg.maxSteps = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(tokens / double(stepTokens))));
                cfg.maxMinutes = 0;
                const int64_t tenth = std::max<int64_t>(1, cfg.maxSteps / 10);
                cfg.evalEvery = cfg.evalEvery > 0 ? std::min(cfg.evalEvery, tenth) : tenth;
            }
            TrainStart start;
            const fs::path previous = entry.is_object() ? c.outDir / "runs" / entry.value("run", "") : fs::path();
            if (!previous.empty() && !listCheckpoints(previous).empty()) {
                TrainConfig resumed = Trainer::resumeConfig(previous);
                resumed.maxSteps = cfg.maxSteps;
                resumed.maxMinutes = cfg.maxMinutes;
                resumed.evalEvery = cfg.evalEvery;
                cfg = resumed;
                start.resumeFrom = previous;
                log(fmt::format("{}: resuming {}", arch, previous.string()));
            } else {
                start.runsDir = c.outDir / "runs";
                start.name = arch;
                log(fmt::format("{}: d_model {} x {} layers, {} parameters ({} active), {}", arch, row.dModel,
                                row.nLayer, row.totalParams, row.activeParams,
                                cfg.maxSteps > 0 ? fmt::format("{} steps", cfg.maxSteps)
                                                 : fmt::format("{} min", cfg.maxMinutes)));
            }
            TrainCallbacks cb;
            cb.onProgress = [&, i](const TrainProgress& p) {
                if (m_callbacks.onProgress)
                    m_callbacks.onProgress(CompareProgress{arch, static_cast<int>(i), static_cast<int>(c.archs.size()), p});
            };
            // The run folder is known once the first checkpoint is written: record it, so an
            // interrupted suite resumes this run instead of starting another.
            cb.onCheckpoint = [&](const CheckpointReport& ck) {
                const std::string name = ck.dir.parent_path().parent_path().filename().string();
                if (!entry.is_object() || entry.value("run", "") != name) {
                    entry = json{{"run", name}, {"done", false}};
                    saveSuite();
                }
            };
            cb.onWarning = [&](const std::string& w) { result.warnings.push_back(arch + ": " + w); };
            peakPerRun = resetPeakRss() && peakPerRun;
            Trainer trainer(cfg, start, cb);
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                m_trainer = &trainer;
                if (m_cancel) trainer.cancel();
            }
            const TrainResult r = trainer.run();
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                m_trainer = nullptr;
            }
            row.runDir = r.runDir;
            row.peakRssBytes = r.peakRssBytes;
            if (r.stopReason == TrainStopReason::Cancelled) {
                row.status = "cancelled (re-run to resume)";
                result.cancelled = true;
            } else if (r.stopReason == TrainStopReason::Failed) {
                row.status = "failed: " + r.message;
            } else {
                row.status = "finished";
                json done = rowToJson(row);
                done["done"] = true;
                entry = done;
                saveSuite();
            }
            if (!r.runDir.empty()) readRowFigures(row);
            log(fmt::format("{}: {}", arch, row.status));
            result.rows.push_back(row);
            if (m_callbacks.onRunDone) m_callbacks.onRunDone(row);
        }
        if (m_cancel) result.cancelled = true;

        // The report: table and plots of every row that has a run.
        // Per byte, so that suites with different tokenizers (and seed 004's per-character losses) compare.
        LinePlot byFlops{"Validation loss against training FLOPs", "training FLOPs (6 N_active T)",
                         "validation loss (nats/byte)", true, {}};
        LinePlot byTime{"Validation loss against wall time", "training time (s)", "validation loss (nats/byte)",
                        false, {}};
        for (const auto& row : result.rows) {
            if (row.runDir.empty()) continue;
            const RunMetrics m = readRunMetrics(row.runDir);
            PlotSeries f{row.arch, {}}, t{row.arch, {}};
            for (size_t k = 0; k < m.valLoss.size() && k < m.valBitsPerByte.size(); ++k) {
                const auto& p = m.valLoss[k];
                const double nats = m.valBitsPerByte[k].value * std::log(2.0);
                f.points.emplace_back(6.0 * static_cast<double>(row.activeNonEmbeddingParams) * p.tokens, nats);
                if (k < m.valElapsedSec.size()) t.points.emplace_back(m.valElapsedSec[k].value, nats);
            }
            byFlops.series.push_back(f);
            byTime.series.push_back(t);
        }
        bool png = false;
        for (const auto& [plot, name] : {std::pair<const LinePlot&, std::string>{byFlops, "val_loss_vs_flops"},
                                         std::pair<const LinePlot&, std::string>{byTime, "val_loss_vs_time"}}) {
            writeSvgFile(c.outDir / (name + ".svg"), plot);
            result.plots.push_back(c.outDir / (name + ".svg"));
            if (c.renderPng) {
                c.renderPng(plot, c.outDir / (name + ".png"));
                result.plots.push_back(c.outDir / (name + ".png"));
                png = true;
            }
        }
        result.report = c.outDir / "report.md";
        writeFileAtomic(result.report, compareReportMarkdown(c, result.rows, png, peakPerRun));
        result.ok = true;
        for (const auto& row : result.rows)
            if (row.status.rfind("failed", 0) == 0) result.ok = false;
        result.message = result.cancelled ? "cancelled: re-run the same command to resume"
                         : result.ok      ? fmt::format("{} architectures compared; report {}", result.rows.size(),
                                                        result.report.string())
                                          : "some architectures failed; see the report";
    } catch (const std::exception& e) {
        std::string msg = e.what();
        if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
        result.ok = false;
        result.message = msg;
    }
    return result;
}

}  // namespace mts
