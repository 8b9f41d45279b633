#pragma once
// RunStore: reads the run folders the trainer writes (layout in mts/core/run_dir.h) into plain
// structs for the Runs, Train and Generate pages. Readers only: never writes a run.
//
// Threading: plain functions, callable from any thread; they read small files (metrics.jsonl
// is streamed line by line). A malformed line is skipped and counted, never fatal: a run being
// written has a half-written last line.
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
    QString configJson;      // config.json text (pretty), empty if missing
};

/// Run folders directly under runsFolder (those with a config.json), newest first.
QVector<RunSummary> listRuns(const QString& runsFolder);
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
