#pragma once
// RunStore: the Qt face of core's run-folder reader (mts/core/train/run_reader.h, layout in
// run_dir.h) for the Runs, Train and Generate pages: the same structs with Qt types. It parses
// nothing itself: every file of a run is read by core. Readers only: never writes a run.
//
// Threading: plain functions, callable from any thread (core's rules: small files, a malformed
// metrics line is skipped and counted, never fatal).
#include <atomic>

#include <QDateTime>
#include <QString>
#include <QStringList>
#include <QVector>

#include "mts/ui/live_series.h"

namespace mts::ui {

struct RunMetrics {
    QVector<MetricPoint> loss, lr, gradNorm, tokensPerSec, valLoss;
    double elapsedSeconds = 0;
    int skippedLines = 0;
};

struct RunSummary {
    QString dir;
    QString name;
    QString status;          // "running", "finished", "stopped", "failed" or "empty"
    QString arch;            // "mamba", "transformer", ...
    qint64 params = -1;      // -1 when unknown
    qint64 nonEmbeddingParams = -1;
    double tokens = 0;       // tokens seen (last train line)
    double steps = 0;
    double bestValLoss = -1; // -1 when never evaluated
    double wallSeconds = 0;
    QDateTime modified;
    QStringList checkpoints; // checkpoint folder paths, newest last
    QString configJson;      // config.json as the trainer wrote it (the configuration the run
                             // really used), empty if missing
};

/// Run folders directly under runsFolder (those with a config.json), newest first. Stops
/// early when *cancel becomes true.
QVector<RunSummary> listRuns(const QString& runsFolder, const std::atomic<bool>* cancel = nullptr);
/// One run folder (see RunSummary). A folder without config.json gives status "empty".
RunSummary readRunSummary(const QString& runDir);
/// Every metric line of runs/<name>/metrics.jsonl.
RunMetrics readRunMetrics(const QString& runDir);
/// Checkpoint folders of a run (checkpoints/step-*), oldest first.
QStringList listCheckpoints(const QString& runDir);

/// Training compute of a model with `nonEmbeddingParams` after `tokens`: 6·N·T FLOPs.
inline double estimatedFlops(double nonEmbeddingParams, double tokens) { return 6.0 * nonEmbeddingParams * tokens; }

/// The lines of two JSON documents' flattened "a.b.c = value" forms that differ
/// (key, value in a, value in b; "—" when absent). For the Runs page's config diff.
struct ConfigDiffRow {
    QString key;
    QStringList values;  // one per run
};
QVector<ConfigDiffRow> diffConfigs(const QStringList& configJsonTexts);

}  // namespace mts::ui
