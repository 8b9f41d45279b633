#pragma once
// Reading run folders (layout in run_dir.h) into plain structs: the one reader of run.json,
// config.json, metrics.jsonl and the checkpoints listing for every front end (the studio's
// Runs, Train and Generate pages keep no parser of their own). Readers only: never writes.
//
// Threading: plain functions, any thread; they read small files (metrics.jsonl is streamed
// line by line). Failure: never throws for a damaged run: a malformed metrics line is skipped
// and counted (a run being written has a half-written last line), an unreadable config.json
// makes the status "empty", an unreadable run.json is ignored.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mts {

/// One metric sample: the value at an optimizer step, and the tokens seen by then.
struct RunMetricPoint {
    double step = 0.0;
    double tokens = 0.0;
    double value = 0.0;
};

/// Every line of metrics.jsonl, by metric. Train lines: loss, lr, grad_norm, tokens_per_sec;
/// eval lines: val_loss, bits_per_byte, elapsed_sec (the value of valElapsedSec's points);
/// sparse models' train lines: aux_loss.
struct RunMetrics {
    std::vector<RunMetricPoint> loss, lr, gradNorm, tokensPerSec, valLoss;
    std::vector<RunMetricPoint> valBitsPerByte, valElapsedSec, auxLoss;
    double elapsedSeconds = 0.0;  // the largest elapsed_sec of a train line
    int skippedLines = 0;         // lines that are not a JSON object
};

struct RunSummary {
    std::filesystem::path dir;  // absolute
    std::string name;           // the folder's name
    /// run.json's status ("running", "paused", "finished", "stopped early", "cancelled",
    /// "failed", ...), "interrupted" / "interrupted (saved)" when it says running or paused but
    /// its process is gone, "empty" without a readable config.json; without run.json (older
    /// runs): "finished" when max_steps was reached, "running" when metrics changed in the last
    /// 30 s, else "stopped" / "stopped (saved)".
    std::string status;
    std::string arch;                 // config.json model.arch: "mamba", "transformer", ...
    int64_t params = -1;              // run.json; -1 when unknown
    int64_t nonEmbeddingParams = -1;  // run.json; -1 when unknown
    int64_t activeNonEmbeddingParams = -1;  // per token (sparse MoE: routed experts only); FLOPs use it
    double tokens = 0.0;              // tokens seen (last train line)
    double steps = 0.0;               // last logged step
    double bestValLoss = -1.0;        // nats/token; -1 when never evaluated
    double wallSeconds = 0.0;
    int64_t modifiedUnixMs = 0;       // metrics.jsonl's (else the folder's) modification time
    std::vector<std::filesystem::path> checkpoints;  // oldest first
    /// config.json as the trainer wrote it: the configuration the run really used (empty when
    /// missing or not valid JSON).
    std::string configJson;
};

/// Every metric line of <runDir>/metrics.jsonl (none when the file is missing).
RunMetrics readRunMetrics(const std::filesystem::path& runDir);

/// One run folder (see RunSummary).
RunSummary readRunSummary(const std::filesystem::path& runDir);

/// The run folders directly under runsDir (those with a config.json), sorted by name.
std::vector<std::filesystem::path> listRunFolders(const std::filesystem::path& runsDir);

/// Summaries of every run folder under runsDir, most recently modified first. Stops early
/// (returning what it has) when *cancel becomes true.
std::vector<RunSummary> listRuns(const std::filesystem::path& runsDir, const std::atomic<bool>* cancel = nullptr);

/// Checkpoint folders of a run (checkpoints/step-* holding a config.json), oldest first.
std::vector<std::filesystem::path> listCheckpoints(const std::filesystem::path& runDir);

/// One configuration key whose value differs between runs: the flattened key ("model.d_model")
/// and its JSON value per run ("—" where a run lacks it).
struct ConfigDiffRow {
    std::string key;
    std::vector<std::string> values;
};

/// The keys of several config.json texts whose values differ, sorted by key (a text that is
/// not valid JSON counts as having no keys).
std::vector<ConfigDiffRow> diffConfigs(const std::vector<std::string>& configJsonTexts);

}  // namespace mts
