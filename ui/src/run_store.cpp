#include "mts/ui/run_store.h"

#include "mts/core/train/run_reader.h"

namespace mts::ui {

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }
QString q(const std::filesystem::path& p) { return QString::fromStdString(p.string()); }
std::filesystem::path fsPath(const QString& s) { return std::filesystem::path(s.toStdString()); }

QVector<MetricPoint> points(const std::vector<RunMetricPoint>& in) {
    QVector<MetricPoint> out;
    out.reserve(int(in.size()));
    for (const RunMetricPoint& p : in) out.push_back({p.step, p.tokens, p.value});
    return out;
}

RunSummary fromCore(const mts::RunSummary& c) {
    RunSummary s;
    s.dir = q(c.dir);
    s.name = q(c.name);
    s.status = q(c.status);
    s.arch = q(c.arch);
    s.params = c.params;
    // The FLOPs axis counts what a token passes through (sparse MoE: the routed experts only).
    s.nonEmbeddingParams = c.activeNonEmbeddingParams >= 0 ? c.activeNonEmbeddingParams : c.nonEmbeddingParams;
    s.tokens = c.tokens;
    s.steps = c.steps;
    s.bestValLoss = c.bestValLoss;
    s.wallSeconds = c.wallSeconds;
    s.modified = QDateTime::fromMSecsSinceEpoch(c.modifiedUnixMs);
    for (const auto& ck : c.checkpoints) s.checkpoints << q(ck);
    s.configJson = q(c.configJson);
    return s;
}

}  // namespace

QStringList listCheckpoints(const QString& runDir) {
    QStringList out;
    for (const auto& ck : mts::listCheckpoints(fsPath(runDir))) out << q(ck);
    return out;
}

RunMetrics readRunMetrics(const QString& runDir) {
    const mts::RunMetrics c = mts::readRunMetrics(fsPath(runDir));
    RunMetrics m;
    m.loss = points(c.loss);
    m.lr = points(c.lr);
    m.gradNorm = points(c.gradNorm);
    m.tokensPerSec = points(c.tokensPerSec);
    m.valLoss = points(c.valLoss);
    m.elapsedSeconds = c.elapsedSeconds;
    m.skippedLines = c.skippedLines;
    return m;
}

RunSummary readRunSummary(const QString& runDir) { return fromCore(mts::readRunSummary(fsPath(runDir))); }

QVector<RunSummary> listRuns(const QString& runsFolder, const std::atomic<bool>* cancel) {
    QVector<RunSummary> runs;
    for (const mts::RunSummary& c : mts::listRuns(fsPath(runsFolder), cancel)) runs.push_back(fromCore(c));
    return runs;
}

QVector<ConfigDiffRow> diffConfigs(const QStringList& configJsonTexts) {
    std::vector<std::string> texts;
    for (const QString& t : configJsonTexts) texts.push_back(t.toStdString());
    QVector<ConfigDiffRow> rows;
    for (const mts::ConfigDiffRow& c : mts::diffConfigs(texts)) {
        ConfigDiffRow row;
        row.key = q(c.key);
        for (const std::string& v : c.values) row.values << q(v);
        rows.push_back(row);
    }
    return rows;
}

}  // namespace mts::ui
