#pragma once
// Architecture comparison suites: train several architectures, sized to (as near as possible)
// the same number of parameters, one after the other under the same budget, through the normal
// trainer, and write a report folder:
//
//   <out>/suite.json             what the suite is and which run belongs to which architecture
//   <out>/runs/<arch>[-N]/       one normal run folder per architecture (resumable, plottable)
//   <out>/report.md              the table: parameters (active/total), tokens, FLOPs, tokens/s,
//                                best validation loss (nats/token, bits/byte), peak memory
//   <out>/val_loss_vs_flops.svg, <out>/val_loss_vs_time.svg   (core's SVG writer)
//   and the same as .png when the caller renders PNGs (the studio; the CLI writes SVG only)
//
// Re-running the same suite skips finished runs, resumes an interrupted one from its last
// checkpoint, and starts the missing ones. A suite.json of a different suite (other data,
// budget or architectures) is refused rather than mixed into.
//
// FLOPs: 6 · N_active · T (N_active: non-embedding parameters a token passes through; sparse
// MoE counts its k routed experts). Peak memory: the process's peak resident set during that
// run (the kernel's high-water mark is reset before each run where Linux allows it, else it is
// the process's peak so far, and the report says so).
//
// Threading: run() blocks and runs every callback on the calling thread (never the GUI thread);
// cancel() is thread-safe: the current run stops at the end of its step and saves a checkpoint
// (the next invocation resumes it). Failure: run() never throws; a suite-level problem (bad
// budget, unknown architecture, unreadable data, a foreign suite.json) is result.message with
// ok = false; a failed architecture is a row marked failed and the others still run.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "mts/core/model/model_config.h"
#include "mts/core/train/svg_plot.h"
#include "mts/core/train/train_config.h"
#include "mts/core/train/trainer.h"

namespace mts {

/// How long each architecture trains: wall minutes, tokens, or training FLOPs (6·N_active·T).
struct CompareBudget {
    enum class Kind { Minutes, Tokens, Flops };
    Kind kind = Kind::Tokens;
    double value = 0.0;
    /// "10m" / "10min" (minutes), "5000tokens" / "5000t", "1e12flops" / "1e12f".
    /// Throws ConfigError naming the text and the accepted forms.
    static CompareBudget parse(const std::string& text);
    std::string toString() const;  // the canonical text ("10m", "5000tokens", "1e+12flops")
};

/// Every architecture id core knows, in enum order ("mamba", "transformer", ...): the default
/// and the accepted values of a suite's archs.
std::vector<std::string> knownArchitectureIds();

/// A model of `arch` whose total parameter count (countParameters) is as near as possible to
/// `targetParams`: from `shape` (the preset's shape for this arch: n_layer, n_head, ...), only
/// d_model changes, in steps that keep every constraint (n_head | d_model, even RoPE heads);
/// when even the narrowest width overshoots, layers are removed. vocabSize comes from `shape`.
/// Throws ConfigError when targetParams <= 0.
ModelConfig sizeModelForParameters(const ModelConfig& shape, int64_t targetParams);

struct CompareConfig {
    std::string data;                 // corpus folder or text file/folder (as train --data)
    std::vector<std::string> archs;   // architecture ids; empty = knownArchitectureIds()
    CompareBudget budget;
    std::filesystem::path outDir;     // the report folder (created)
    TrainConfig train;                // shared training settings; its model part is ignored
    /// Per-architecture shapes (n_layer, n_head, ... of a model preset); an arch missing here
    /// uses ModelConfig defaults with arch set.
    std::vector<ModelConfig> shapes;
    /// Parameters every model is sized to; 0 = the size of the first architecture's shape.
    int64_t targetParams = 0;
    /// Renders a plot to PNG (the studio passes a QtGui renderer); empty: SVG only.
    std::function<void(const LinePlot&, const std::filesystem::path&)> renderPng;
};

/// What a suite is composed from, the same in the CLI's `compare` and the studio's Compare
/// dialog: a model size preset gives each architecture its shape (an architecture without an
/// entry borrows the Transformer's for attention1, else ModelConfig defaults), the memory tier
/// sets batch and precision ("auto": detectMemoryTier for this machine), the training preset
/// the rest ("auto": small-data for a corpus under kSmallDataTokens training tokens, else
/// default; core/train/small_data.h), then `sets` (TrainConfig::set "key=value") over all.
struct CompareChoice {
    std::string modelPreset = "tiny";
    std::string memoryTier = "auto";
    std::string trainPreset = "auto";
    std::vector<std::string> sets;
};

struct PresetCatalog;

/// Fills c.train and c.shapes for c.archs (empty: every known architecture) from `choice`;
/// reads c.data's size when trainPreset is "auto". Returns the training preset it used.
/// Throws ConfigError (unknown preset, architecture or key) or FormatError (unreadable data).
std::string composeCompareConfig(CompareConfig& c, const PresetCatalog& catalog, const CompareChoice& choice);

/// The status of a row whose run an earlier invocation finished (the report shows it as "finished").
inline constexpr const char* kFinishedBeforeStatus = "skipped (finished before)";

struct CompareRow {
    std::string arch;
    std::string status;         // "finished", kFinishedBeforeStatus, "failed: ...", "cancelled"
    std::filesystem::path runDir;
    int64_t totalParams = 0;
    int64_t activeParams = 0;   // parameters a token passes through (total less the idle experts)
    int64_t activeNonEmbeddingParams = 0;  // the N of the FLOPs
    int64_t dModel = 0, nLayer = 0;
    double tokens = 0.0;
    double flops = 0.0;         // 6 · activeParams · tokens
    double tokensPerSec = 0.0;
    double bestValLoss = -1.0;  // nats/token; -1 when never evaluated
    double bestBitsPerByte = -1.0;
    double elapsedSec = 0.0;
    int64_t peakRssBytes = 0;
    /// bestBitsPerByte in nats (the unit of the report and plots); -1 when never evaluated.
    double bestNatsPerByte() const;
};

struct CompareProgress {
    std::string arch;           // the architecture training now
    int index = 0, count = 0;   // 0-based position in the suite, number of architectures
    TrainProgress train;        // its last step
};

struct CompareCallbacks {
    std::function<void(const CompareProgress&)> onProgress;  // every step
    std::function<void(const CompareRow&)> onRunDone;        // each architecture's row
    std::function<void(const std::string&)> onLog;
};

struct CompareResult {
    bool ok = false;
    bool cancelled = false;
    std::string message;
    std::vector<CompareRow> rows;  // in suite order
    std::filesystem::path report;  // report.md
    std::vector<std::filesystem::path> plots;
    std::vector<std::string> warnings;
};

class CompareSuite {
public:
    CompareSuite(CompareConfig config, CompareCallbacks callbacks = {});
    CompareResult run();  // never throws
    void cancel();
private:
    CompareConfig m_config;
    CompareCallbacks m_callbacks;
    std::atomic<bool> m_cancel{false};
    std::mutex m_mutex;             // guards m_trainer against cancel() while a run starts/ends
    Trainer* m_trainer = nullptr;   // the run in progress
};

/// The report's markdown (table and notes) for `rows`.
std::string compareReportMarkdown(const CompareConfig& config, const std::vector<CompareRow>& rows,
                                  bool pngWritten, bool peakIsPerRun);

}  // namespace mts
