#pragma once
// TrainingController: the Qt adapter over mts::Trainer. Starts a run (new, or resumed from a
// run/checkpoint) on a worker thread it owns, forwards pause/resume/stop, and turns the
// trainer's callbacks into GUI-thread signals.
//
// Live curves follow the house rule: the training thread appends MetricPoints to series()
// under a short lock and pokes a ReplotCoalescer; pointsReady() then fires on the GUI thread at
// most every ~40 ms, and the page drains series() and replots. Per-step progress is coalesced
// the same way (latestProgress()). Evaluations, samples, checkpoints and log lines are rare and
// arrive as individual queued signals.
//
// Threading: every method is for the GUI thread. stop() returns at once (the trainer finishes
// the current step, saves a checkpoint, then finished() fires); waitForFinish() blocks until the
// worker has ended (used when the window closes). The destructor cancels and joins.
// Errors: the trainer reports failures in its result; they arrive as failed(message) followed by
// finished(). A bad config JSON makes start() return false with the message.
//
// With setProcesses(N > 1) a run trains data-parallel in N local processes instead: the
// controller starts the CLI's `train --nproc N` through RankRun (rank_run.h) and the same
// signals come from the run folder; ranks()/ranksChanged() describe the processes. Pause is
// not available then (canPause() is false).
#include <atomic>
#include <memory>
#include <mutex>

#include <QList>
#include <QStringList>
#include <QObject>
#include <QString>

#include "mts/ui/job_thread.h"
#include "mts/ui/live_series.h"

namespace mts {
class Trainer;
struct TrainCallbacks;
struct TrainConfig;
}

namespace mts::ui {

class ReplotCoalescer;
class RankRun;
struct RankInfo;

/// Series indices in TrainingController::series().
enum TrainSeries : int { kSeriesLoss = 0, kSeriesValLoss, kSeriesLr, kSeriesGradNorm, kSeriesTokensPerSec, kSeriesCount };

struct TrainProgressInfo {
    qint64 step = 0, maxSteps = 0, tokensSeen = 0;
    double loss = 0, lr = 0, gradNorm = 0, tokensPerSec = 0, elapsedSec = 0, etaSec = -1;
    qint64 skippedSteps = 0;
    bool valid = false;  // false until the first step
};

struct TrainOutcome {
    QString stopReason;  // "max_steps", "cancelled", "failed", ...
    QString message;
    QString runDir, lastCheckpoint, bestCheckpoint;
    qint64 steps = 0, tokensSeen = 0, numParameters = 0;
    double finalLoss = 0, bestValLoss = -1, tokensPerSec = 0, elapsedSec = 0;
    QStringList warnings;
};

class TrainingController : public QObject {
    Q_OBJECT
public:
    enum class State { Idle, Running, Paused, Stopping };

    explicit TrainingController(QObject* parent = nullptr);
    ~TrainingController() override;

    /// Starts a new run of `config` under runsFolder. Returns false (and sets *error) when the
    /// config does not validate, the trainer cannot be set up, or a run is active.
    bool start(const TrainConfig& config, const QString& runsFolder, const QString& runName = {},
               QString* error = nullptr);
    /// Continues a run folder or checkpoint. overridesJson (may be empty) is merged over the
    /// checkpoint's config (e.g. {"max_steps": 2000}).
    bool resumeRun(const QString& runOrCheckpoint, const QString& overridesJson = {}, QString* error = nullptr);

    /// Local data-parallel processes for the next start()/resumeRun(): 1 = in this process.
    void setProcesses(int n) { m_processes = n < 1 ? 1 : n; }
    int processes() const { return m_processes; }
    /// The ranks of a multi-process run (empty otherwise), as its run.json names them.
    QList<RankInfo> ranks() const;
    bool canPause() const { return m_ranks == nullptr || !m_rankRunActive; }
    /// The rank runner (tests point it at the CLI they built).
    RankRun* rankRun();

    void pause();
    void resume();
    void stop();
    /// Blocks until the worker has ended (after stop(): the final checkpoint is on disk).
    void waitForFinish();

    State state() const { return m_state; }
    bool active() const { return m_state != State::Idle; }
    QString runDir() const { return m_runDir; }

    SeriesBuffer& series() { return m_series; }
    TrainProgressInfo latestProgress() const;

Q_SIGNALS:
    void stateChanged(mts::ui::TrainingController::State state);
    void ranksChanged();
    void pointsReady();  // coalesced: drain series() and read latestProgress()
    void evaluated(qint64 step, qint64 tokens, double valLoss, double bitsPerByte, bool best);
    void sample(qint64 step, const QString& prompt, const QString& text);
    void checkpointSaved(qint64 step, const QString& dir, bool best);
    void logLine(const QString& line);
    void warning(const QString& line);
    void runStarted(const QString& runDir);
    void failed(const QString& message);
    void finished(const mts::ui::TrainOutcome& outcome);

private:
    bool launch(const TrainConfig& config, const std::string& runsFolder, const std::string& name,
                const std::string& resumeFrom, QString* error);
    /// The trainer's callbacks (run on the training thread): locked buffers and queued signals.
    TrainCallbacks makeCallbacks();
    /// Runs the trainer on the worker; its outcome arrives through onRunEnded on the GUI thread.
    void startWorker();
    void onRunEnded(const TrainOutcome& outcome, bool failedRun);
    void setState(State state);
    bool launchRanks(const TrainConfig& config, const QString& runsFolder, const QString& name,
                     const QString& resumeFrom, const QStringList& extraArgs, QString* error);

    State m_state = State::Idle;
    QString m_runDir;
    SeriesBuffer m_series{kSeriesCount};
    ReplotCoalescer* m_coalescer;
    mutable std::mutex m_progressMutex;
    TrainProgressInfo m_progress;
    std::unique_ptr<Trainer> m_trainer;
    int m_processes = 1;
    RankRun* m_ranks = nullptr;  // created on first use; a child QObject
    bool m_rankRunActive = false;
    JobThread m_thread;  // last: joined before the trainer is destroyed
};

}  // namespace mts::ui

Q_DECLARE_METATYPE(mts::ui::TrainOutcome)
Q_DECLARE_METATYPE(mts::ui::TrainProgressInfo)
