#include "mts/ui/run_store.h"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <set>

#include <QDir>
#include <QFileInfo>

#include <nlohmann/json.hpp>
#include <signal.h>

namespace mts::ui {

namespace {

nlohmann::json readJsonFile(const QString& file) {
    std::ifstream in(file.toStdString());
    if (!in) return nullptr;
    try {
        nlohmann::json j;
        in >> j;
        return j;
    } catch (const std::exception&) {
        return nullptr;
    }
}

double num(const nlohmann::json& j, const char* key, double fallback = 0) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

void flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    } else {
        out[prefix] = j.dump();
    }
}

}  // namespace

QStringList listCheckpoints(const QString& runDir) {
    QDir dir(runDir + QStringLiteral("/checkpoints"));
    QStringList out;
    const QStringList names = dir.entryList({QStringLiteral("step-*")}, QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
    for (const QString& n : names) {
        if (QFileInfo::exists(dir.filePath(n) + QStringLiteral("/config.json"))) out << dir.filePath(n);
    }
    return out;
}

RunMetrics readRunMetrics(const QString& runDir) {
    RunMetrics m;
    std::ifstream in((runDir + QStringLiteral("/metrics.jsonl")).toStdString());
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            ++m.skippedLines;
            continue;
        }
        const std::string type = j.value("type", std::string("train"));
        const double step = num(j, "step"), tokens = num(j, "tokens");
        if (type == "eval") {
            if (j.contains("val_loss")) m.valLoss.push_back({step, tokens, num(j, "val_loss")});
        } else if (type == "train") {
            if (j.contains("loss")) m.loss.push_back({step, tokens, num(j, "loss")});
            if (j.contains("lr")) m.lr.push_back({step, tokens, num(j, "lr")});
            if (j.contains("grad_norm")) m.gradNorm.push_back({step, tokens, num(j, "grad_norm")});
            if (j.contains("tokens_per_sec")) m.tokensPerSec.push_back({step, tokens, num(j, "tokens_per_sec")});
            m.elapsedSeconds = std::max(m.elapsedSeconds, num(j, "elapsed_sec"));
        }
    }
    return m;
}

RunSummary readRunSummary(const QString& runDir) {
    RunSummary s;
    QFileInfo info(runDir);
    s.dir = info.absoluteFilePath();
    s.name = info.fileName();
    const nlohmann::json config = readJsonFile(runDir + QStringLiteral("/config.json"));
    if (config.is_null()) {
        s.status = QStringLiteral("empty");
        return s;
    }
    s.configJson = QString::fromStdString(config.dump(2));
    if (config.contains("model") && config["model"].is_object()) {
        s.arch = QString::fromStdString(config["model"].value("arch", std::string()));
    }
    const RunMetrics metrics = readRunMetrics(runDir);
    if (!metrics.loss.isEmpty()) {
        s.tokens = metrics.loss.back().tokens;
        s.steps = metrics.loss.back().step;
    }
    for (const MetricPoint& p : metrics.valLoss) {
        if (s.bestValLoss < 0 || p.value < s.bestValLoss) s.bestValLoss = p.value;
    }
    s.wallSeconds = metrics.elapsedSeconds;
    s.checkpoints = listCheckpoints(runDir);
    // The trainer's summary file, when there is one, knows the status and the sizes.
    const nlohmann::json run = readJsonFile(runDir + QStringLiteral("/run.json"));
    QFileInfo metricsInfo(runDir + QStringLiteral("/metrics.jsonl"));
    s.modified = metricsInfo.exists() ? metricsInfo.lastModified() : info.lastModified();
    if (run.is_object()) {
        s.status = QString::fromStdString(run.value("status", std::string()));
        // A "running" or "paused" run whose process is gone was killed (or the machine stopped).
        const qint64 pid = qint64(num(run, "pid", -1));
        if ((s.status == QStringLiteral("running") || s.status == QStringLiteral("paused")) && pid > 0 &&
            ::kill(pid_t(pid), 0) != 0 && errno == ESRCH)
            s.status = s.checkpoints.isEmpty() ? QStringLiteral("interrupted") : QStringLiteral("interrupted (saved)");
        s.params = qint64(num(run, "params", -1));
        s.nonEmbeddingParams = qint64(num(run, "non_embedding_params", -1));
        if (s.wallSeconds <= 0) s.wallSeconds = num(run, "elapsed_sec");
    }
    if (s.status.isEmpty()) {
        const double maxSteps = config.is_object() ? num(config, "max_steps") : 0;
        if (maxSteps > 0 && s.steps >= maxSteps) s.status = QStringLiteral("finished");
        else if (s.modified.secsTo(QDateTime::currentDateTime()) < 30) s.status = QStringLiteral("running");
        else s.status = s.checkpoints.isEmpty() ? QStringLiteral("stopped") : QStringLiteral("stopped (saved)");
    }
    return s;
}

QVector<RunSummary> listRuns(const QString& runsFolder) {
    QVector<RunSummary> runs;
    QDir dir(runsFolder);
    for (const QFileInfo& sub : dir.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        if (!QFileInfo::exists(sub.absoluteFilePath() + QStringLiteral("/config.json"))) continue;
        runs.push_back(readRunSummary(sub.absoluteFilePath()));
    }
    std::sort(runs.begin(), runs.end(), [](const RunSummary& a, const RunSummary& b) { return a.modified > b.modified; });
    return runs;
}

QVector<ConfigDiffRow> diffConfigs(const QStringList& configJsonTexts) {
    std::vector<std::map<std::string, std::string>> flat;
    std::set<std::string> keys;
    for (const QString& text : configJsonTexts) {
        std::map<std::string, std::string> f;
        nlohmann::json j = nlohmann::json::parse(text.toStdString(), nullptr, false);
        if (!j.is_discarded()) flatten(j, "", f);
        for (const auto& [k, v] : f) keys.insert(k);
        flat.push_back(std::move(f));
    }
    QVector<ConfigDiffRow> rows;
    for (const std::string& key : keys) {
        ConfigDiffRow row;
        row.key = QString::fromStdString(key);
        bool differs = false;
        const std::string* first = nullptr;
        for (size_t i = 0; i < flat.size(); ++i) {
            auto it = flat[i].find(key);
            const std::string* v = it == flat[i].end() ? nullptr : &it->second;
            row.values << (v ? QString::fromStdString(*v) : QStringLiteral("—"));
            if (i == 0) first = v;
            else if ((v == nullptr) != (first == nullptr) || (v && first && *v != *first)) differs = true;
        }
        if (differs) rows.push_back(row);
    }
    return rows;
}

}  // namespace mts::ui
