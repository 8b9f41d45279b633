#pragma once
// RankRun: local data-parallel training for the studio. The studio does not run c10d ranks in
// its own process: it starts `mamba-studio-cli train --nproc N` (rank 0, which starts ranks
// 1..N-1 and divides the cores, exactly as on the command line) and follows the run folder the
// way the Runs page reads any run: new complete lines of metrics.jsonl and samples.jsonl become
// live-curve points and signals, run.json names the ranks (rank, host, pid). Rank 0 is the one
// writer, so the studio sees what a single-process run shows.
//
// Threading: GUI thread only. Nothing blocks: the child is a QProcess, the run folder is polled
// every kPollMs by a timer (small reads from the last offset).
// Stop: SIGTERM to rank 0 (the CLI's Ctrl-C path: every rank stops after the current step and
// rank 0 writes the checkpoint); after kStopGraceMs every rank still alive gets SIGKILL.
// Pause is not offered (the ranks agree on pause only through the in-process trainer).
// Failure: the child's exit code (1 error, 3 a rank died or hung) and the last lines of its
// stderr arrive in ended(outcome, failed = true).
#include <memory>

#include <QList>
#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>

#include "mts/ui/live_series.h"
#include "mts/ui/training_controller.h"

class QTimer;
class QTemporaryDir;

namespace mts {
struct TrainConfig;
}

namespace mts::ui {

struct RankInfo {
    int rank = 0;
    qint64 pid = 0;
    QString host;
    bool alive = false;  // a process with this pid exists on this machine
};

class RankRun : public QObject {
    Q_OBJECT
public:
    static constexpr int kPollMs = 250;
    static constexpr int kStopGraceMs = 30000;

    /// Points go to `series` (TrainingController's buffer), like the in-process trainer's.
    RankRun(SeriesBuffer& series, QObject* parent = nullptr);
    ~RankRun() override;

    /// The CLI the studio starts: $MTS_CLI when set, else mamba-studio-cli beside the studio.
    static QString defaultCliPath();
    void setCliPath(const QString& path) { m_cli = path; }

    /// Starts `train --nproc nproc` on `config` (a new run under runsFolder, named runName or a
    /// fresh name), or resumes resumeFrom (a run folder or checkpoint) when it is not empty.
    /// Returns false with *error when the CLI is missing, a run is active or the config cannot
    /// be written.
    /// extraArgs go to `train` as they are (e.g. --max-steps N for a resume).
    bool start(const TrainConfig& config, const QString& runsFolder, const QString& runName, int nproc,
               const QString& resumeFrom, const QStringList& extraArgs, QString* error);
    void stop();
    bool running() const { return m_process.state() != QProcess::NotRunning; }
    QString runDir() const { return m_runDir; }
    QList<RankInfo> ranks() const { return m_ranks; }
    TrainProgressInfo latestProgress() const { return m_progress; }
    /// Reads what the run folder gained since the last poll (the timer calls it; tests may too).
    void poll();

Q_SIGNALS:
    void pointsReady();
    void evaluated(qint64 step, qint64 tokens, double valLoss, double bitsPerByte, bool best);
    void sample(qint64 step, const QString& prompt, const QString& text);
    void ranksChanged();
    void runStarted(const QString& runDir);
    void logLine(const QString& line);
    void ended(const mts::ui::TrainOutcome& outcome, bool failed);

private:
    void readMetrics();
    void readSamples();
    void readRanks();
    void onFinished(int exitCode, QProcess::ExitStatus status);

    SeriesBuffer& m_series;
    QString m_cli;
    QProcess m_process;
    QTimer* m_poll;
    QTimer* m_kill;
    std::unique_ptr<QTemporaryDir> m_configDir;
    QString m_runDir;
    bool m_announced = false;
    qint64 m_metricsOffset = 0, m_samplesOffset = 0;
    QList<RankInfo> m_ranks;
    TrainProgressInfo m_progress;
    QStringList m_stderrTail;
};

}  // namespace mts::ui
