#pragma once
// The run folder the trainer writes and the UI reads:
//
//   runs/<name>/config.json       effective TrainConfig (TrainConfig::toJson), in full
//   runs/<name>/metrics.jsonl     one JSON object per line:
//        {"type":"train","step","tokens","loss","lr","grad_norm","tokens_per_sec","elapsed_sec", ...}
//        {"type":"eval","step","tokens","val_loss","perplexity","bits_per_byte","nats_per_byte","best"}
//   runs/<name>/samples.jsonl     {"step","prompt","text"}
//   runs/<name>/run.json          what the run is doing now (the trainer rewrites it atomically at
//        start, pause/resume, each checkpoint and the end): {"status": "running" | "paused" |
//        "finished" | "stopped early" | "cancelled" | "failed" | "stopped: non-finite loss",
//        "step","tokens","elapsed_sec","params","non_embedding_params","arch","pid",
//        "updated_unix", and at the end "stop_reason","message"; "best_val_loss","best_step",
//        "last_checkpoint" when known}. "running" with a dead pid = the process was killed.
//   runs/<name>/checkpoints/      step-XXXXXXXX/ folders, latest.txt, best.txt (checkpoint.h)
//   runs/<name>/run.lock          flock()ed by the one trainer writing the folder; holds its pid
//
// Locking: create() and open() take an exclusive flock on run.lock for the RunDir's lifetime
// (copies share it; the last one releases it, and so does the process's death, SIGKILL
// included). A second trainer, in this process or another (CLI or studio), is refused.
// Threading: a RunDir is written by the training thread only; readers open the files.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace mts {

/// $XDG_DATA_HOME/mamba-studio/runs, else ~/.local/share/mamba-studio/runs: defaultDataDir()/runs,
/// the one default of the CLI and the studio (data_dirs.h, which also finds older locations).
std::filesystem::path defaultRunsDir();

class RunDir {
public:
    /// Creates runsDir/<name> (runsDir created if needed). An empty name becomes
    /// "<arch>-YYYYMMDD-HHMMSS"; when the folder exists "-2", "-3", ... is appended, so names
    /// never collide (the creation itself is the atomic test). Throws std::runtime_error with
    /// the path and the OS reason when the folder cannot be created.
    static RunDir create(const std::filesystem::path& runsDir, const std::string& name, const std::string& arch);
    /// Opens an existing run folder for appending (resume). Throws FormatError when it is not
    /// one, ConfigError("<dir>: in use by another trainer (pid N) ...") when another trainer
    /// holds its lock, std::runtime_error when run.lock cannot be created.
    static RunDir open(const std::filesystem::path& dir);

    const std::filesystem::path& path() const { return m_path; }
    std::filesystem::path checkpointsDir() const { return m_path / "checkpoints"; }
    std::string name() const { return m_path.filename().string(); }

    /// Writes config.json (temp file + rename). Throws std::runtime_error on I/O failure.
    void writeConfig(const nlohmann::json& config) const;
    /// Appends one line to metrics.jsonl / samples.jsonl and flushes it.
    void appendMetric(const nlohmann::json& line);
    void appendSample(const nlohmann::json& line);

    /// Resume after a crash: rewrites metrics.jsonl and samples.jsonl (atomically) without a
    /// trailing incomplete line and without the records whose "step" is above `step` (the
    /// resumed checkpoint's), so the curves continue from the checkpoint without zig-zags.
    /// Complete lines that are not JSON are kept (they are shown as skipped, not lost).
    /// Returns the number of lines dropped. Throws std::runtime_error on I/O failure.
    int64_t rewindTo(int64_t step);

private:
    explicit RunDir(std::filesystem::path p);
    void append(const char* file, const nlohmann::json& line);
    std::filesystem::path m_path;
    std::shared_ptr<const int> m_lock;  // the flock()ed run.lock descriptor
};

}  // namespace mts
