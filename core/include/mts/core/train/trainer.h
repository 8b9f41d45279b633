#pragma once
// The training engine: config in, callbacks out, result at the end. The GUI's
// TrainingController and `mamba-studio-cli train` both drive exactly this.
//
// Usage:
//   mts::TrainConfig cfg = ...;                  // presets.h composes one from presets
//   mts::TrainStart where;  where.runsDir = mts::defaultRunsDir();
//   mts::TrainCallbacks cb;
//   cb.onProgress = [](const mts::TrainProgress& p) { ... };
//   mts::Trainer trainer(cfg, where, cb);
//   std::thread worker([&] { result = trainer.run(); });   // never on a GUI thread
//   ... trainer.pause(); trainer.resume(); trainer.cancel();   // from any thread
//
// One step = gradAccum micro-batches of microBatch windows of seqLen + 1 tokens, forward +
// backward each, then clip, optimizer step, LR schedule. Evaluation every evalEvery steps,
// samples every sampleEvery steps, checkpoints every checkpointEvery steps, at new best
// validation losses (keepBest) and at the end (also after cancel).
//
// Threading: run() blocks and runs everything (callbacks included) on the calling thread.
// pause(), resume(), cancel() and isPaused() are thread-safe and return immediately; cancel
// lets the current step finish, saves a checkpoint and makes run() return. During set-up
// (before the first step) cancel is honoured between stages (checkpoint or model load, data,
// run folder) and between documents of a text build: run() then returns Cancelled with no
// checkpoint and, for a new run, no run folder. Loading one checkpoint is not interrupted.
// A run folder is locked while the trainer writes it (run_dir.h); a second trainer is refused.
// Failure: run() never throws; errors (bad data, bad config, out of memory, disk full)
// end the run with stopReason Failed and a message a person can act on.
// Data parallel (TrainStart::distributed): one step = every rank's gradAccum micro-batches
// (rank r takes the global rows a single process would give micro-batches r*gradAccum...),
// gradients averaged over the ranks; losses, evaluations and stop decisions (cancel, pause,
// time limit, early stopping) are agreed by all ranks; only rank 0 calls onEval/onSample/
// onCheckpoint and writes the run folder. A rank that dies or hangs ends the others' runs
// with stopReason RankFailed within DistributedOptions::timeoutSec.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "mts/core/train/distributed_options.h"
#include "mts/core/train/train_config.h"

namespace mts {

struct TrainProgress {
    int64_t step = 0;           // optimizer steps completed
    int64_t maxSteps = 0;       // 0 when the run is time-limited only
    int64_t tokensSeen = 0;
    double loss = 0.0;          // mean training loss of this step (nats/token); NaN on a skipped step
    double lr = 0.0;            // LR of the main group (AdamW; Muon's is lr * muonLr / lr)
    double gradNorm = 0.0;      // before clipping
    double tokensPerSec = 0.0;  // over the last few steps
    double elapsedSec = 0.0;    // training time of the whole run (pauses excluded)
    double etaSec = -1.0;       // remaining, -1 when unknown
    double lossScale = 1.0;     // fp16 only
    int64_t skippedSteps = 0;
    bool skipped = false;       // this step was skipped (non-finite loss or gradients)
};

struct EvalReport {
    int64_t step = 0;
    int64_t tokensSeen = 0;
    double valLoss = 0.0;       // nats per token
    double perplexity = 0.0;    // exp(valLoss)
    double natsPerByte = 0.0;   // valLoss / bytesPerToken (comparable across tokenizers)
    double bitsPerByte = 0.0;   // natsPerByte / ln 2
    bool best = false;          // a new best validation loss
};

struct SampleReport {
    int64_t step = 0;
    std::string prompt;
    std::string text;           // the generated continuation (prompt excluded)
};

struct CheckpointReport {
    int64_t step = 0;
    std::filesystem::path dir;
    bool best = false;
};

struct TrainCallbacks {
    std::function<void(const TrainProgress&)> onProgress;   // every step
    std::function<void(const EvalReport&)> onEval;
    std::function<void(const SampleReport&)> onSample;
    std::function<void(const CheckpointReport&)> onCheckpoint;
    std::function<void(const std::string&)> onLog;          // informational lines (data, model size, device)
    std::function<void(const std::string&)> onWarning;      // also collected in TrainResult::warnings
};

enum class TrainStopReason {
    MaxSteps,       // maxSteps reached
    TimeLimit,      // maxMinutes reached
    Cancelled,      // cancel() was called
    EarlyStopping,  // no validation improvement for earlyStoppingPatience evaluations
    TargetLoss,     // validation loss reached stopAtLoss
    NonFinite,      // maxNonFinite non-finite steps in a row
    Failed,         // an error; see message
    RankFailed,     // data parallel: another rank died or hung (timeout), or the ranks could not join
};
std::string toString(TrainStopReason r);  // "max_steps", "time_limit", "cancelled", ..., "rank_failed"

struct TrainResult {
    TrainStopReason stopReason = TrainStopReason::Failed;
    std::string message;        // one line for people: why it stopped / what failed
    std::filesystem::path runDir;
    std::filesystem::path lastCheckpoint;  // empty when none was written
    std::filesystem::path bestCheckpoint;
    int64_t steps = 0;
    int64_t tokensSeen = 0;
    int64_t numParameters = 0;
    double finalLoss = 0.0;     // mean training loss over the last logEvery steps
    double finalValLoss = -1.0; // last evaluation (-1 when none)
    double bestValLoss = -1.0;
    double finalBitsPerByte = -1.0;
    double tokensPerSec = 0.0;  // training tokens / training time of this session
    double elapsedSec = 0.0;    // whole run (resumed sessions included)
    int64_t skippedSteps = 0;
    int64_t peakRssBytes = 0;   // process peak RSS at the end
    std::vector<std::string> warnings;
};

/// Where the run lives: a new run folder, or an existing run/checkpoint to continue.
struct TrainStart {
    std::filesystem::path runsDir;     // new run: created under here (defaultRunsDir() if empty)
    std::string name;                  // new run name ("" = <arch>-<time>); never collides
    std::filesystem::path resumeFrom;  // non-empty: a run folder or checkpoint folder to continue
    // Data parallel (distributed.h): when enabled, this process is one rank; rank 0 alone writes
    // the run folder. Every rank must be given the same config and resumeFrom.
    DistributedOptions distributed;
};

class Trainer {
public:
    /// For a resume, pass the checkpoint's config (resumeConfig) with any changes (max_steps,
    /// eval/sample/checkpoint cadence); the model config always comes from the checkpoint.
    Trainer(TrainConfig config, TrainStart start, TrainCallbacks callbacks = {});
    ~Trainer();
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    /// Runs to the end (see the file comment). Never throws.
    TrainResult run();

    void pause();
    void resume();
    void cancel();
    bool isPaused() const { return m_pauseRequested.load(); }
    bool isCancelled() const { return m_cancelRequested.load(); }

    /// The clock checkpoint_minutes is measured with: monotonic seconds (any origin). Default:
    /// std::chrono::steady_clock. Tests inject a fake one. Call before run(); it is called on
    /// run()'s thread.
    void setClock(std::function<double()> monotonicSeconds) { m_clock = std::move(monotonicSeconds); }

    /// The effective config stored in a checkpoint (run folder -> its latest checkpoint).
    /// Throws FormatError when there is none.
    static TrainConfig resumeConfig(const std::filesystem::path& runOrCheckpoint);

private:
    struct Impl;
    TrainResult runSession();
    /// Blocks while paused; returns false when cancelled. Returns the seconds spent paused.
    double waitWhilePaused();

    TrainConfig m_config;
    TrainStart m_start;
    TrainCallbacks m_callbacks;
    std::function<double()> m_clock;  // empty = steady_clock
    std::atomic<bool> m_pauseRequested{false};
    std::atomic<bool> m_cancelRequested{false};
    std::mutex m_mutex;
    std::condition_variable m_cv;
};

}  // namespace mts
