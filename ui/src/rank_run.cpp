#include "mts/ui/rank_run.h"

#include <cmath>
#include <csignal>

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTimer>

#include <nlohmann/json.hpp>

#include "mts/core/train/train_config.h"

namespace mts::ui {

namespace {

constexpr int kStderrLines = 20;

// The complete lines appended to `file` since *offset (a half-written last line waits).
QList<QByteArray> newLines(const QString& file, qint64* offset) {
    QList<QByteArray> lines;
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly)) return lines;
    if (f.size() < *offset) *offset = 0;  // rewound by a resume: read again from the start
    if (!f.seek(*offset)) return lines;
    const QByteArray data = f.readAll();
    const qsizetype end = data.lastIndexOf('\n');
    if (end < 0) return lines;
    for (const QByteArray& line : data.left(end).split('\n'))
        if (!line.trimmed().isEmpty()) lines << line;
    *offset += end + 1;
    return lines;
}

double num(const nlohmann::json& j, const char* key, double fallback = 0.0) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

bool pidAlive(qint64 pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH); }

QString freshRunName(const TrainConfig& config, int nproc) {
    return QStringLiteral("%1-%2-x%3-%4")
        .arg(QString::fromStdString(toString(config.model.arch)))
        .arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")))
        .arg(nproc)
        .arg(QRandomGenerator::global()->bounded(0x10000), 4, 16, QLatin1Char('0'));
}

}  // namespace

RankRun::RankRun(SeriesBuffer& series, QObject* parent)
    : QObject(parent), m_series(series), m_cli(defaultCliPath()), m_poll(new QTimer(this)), m_kill(new QTimer(this)) {
    m_poll->setInterval(kPollMs);
    connect(m_poll, &QTimer::timeout, this, &RankRun::poll);
    m_kill->setSingleShot(true);
    connect(m_kill, &QTimer::timeout, this, [this] {
        for (const RankInfo& r : m_ranks)
            if (r.alive && r.pid > 0) ::kill(static_cast<pid_t>(r.pid), SIGKILL);
        if (running()) m_process.kill();
    });
    connect(&m_process, &QProcess::finished, this, &RankRun::onFinished);
    connect(&m_process, &QProcess::readyReadStandardError, this, [this] {
        for (const QByteArray& line : m_process.readAllStandardError().split('\n')) {
            const QString text = QString::fromUtf8(line).trimmed();
            if (text.isEmpty()) continue;
            m_stderrTail << text;
            while (m_stderrTail.size() > kStderrLines) m_stderrTail.removeFirst();
            Q_EMIT logLine(text);
        }
    });
}

RankRun::~RankRun() {
    if (running()) {
        // The window is going away: the ranks stop after their step (SIGTERM); no waiting here.
        m_process.terminate();
        m_process.waitForFinished(0);
    }
}

QString RankRun::defaultCliPath() {
    const QString env = qEnvironmentVariable("MTS_CLI");
    if (!env.isEmpty()) return env;
    return QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("mamba-studio-cli"));
}

bool RankRun::start(const TrainConfig& config, const QString& runsFolder, const QString& runName, int nproc,
                    const QString& resumeFrom, const QStringList& extraArgs, QString* error) {
    auto fail = [error](const QString& message) {
        if (error) *error = message;
        return false;
    };
    if (running()) return fail(QStringLiteral("A training run is already active."));
    if (nproc < 2) return fail(QStringLiteral("Data parallel needs at least 2 processes."));
    if (!QFileInfo(m_cli).isExecutable())
        return fail(QStringLiteral("%1: the command-line trainer is missing or not executable; the studio starts it "
                                   "for training with several processes (set MTS_CLI to its path).")
                        .arg(m_cli));
    m_configDir = std::make_unique<QTemporaryDir>();
    if (!m_configDir->isValid()) return fail(QStringLiteral("cannot create a temporary folder for the run's config"));
    const QString configFile = m_configDir->filePath(QStringLiteral("config.json"));
    QStringList args{QStringLiteral("-q"), QStringLiteral("train"), QStringLiteral("--nproc"), QString::number(nproc)};
    if (resumeFrom.isEmpty()) {
        QFile f(configFile);
        const QByteArray text = QByteArray::fromStdString(config.toJson().dump(2));
        if (!f.open(QIODevice::WriteOnly) || f.write(text) != text.size())
            return fail(QStringLiteral("%1: cannot write the run's config").arg(configFile));
        f.close();
        const QString name = runName.isEmpty() ? freshRunName(config, nproc) : runName;
        m_runDir = QDir(runsFolder).filePath(name);
        args << QStringLiteral("--config") << configFile << QStringLiteral("--runs-dir") << runsFolder
             << QStringLiteral("--name") << name;
    } else {
        QFileInfo from(resumeFrom);
        // A checkpoint folder (<run>/checkpoints/step-N) or the run folder itself.
        m_runDir = from.dir().dirName() == QStringLiteral("checkpoints") ? from.dir().absolutePath() + QStringLiteral("/..")
                                                                         : from.absoluteFilePath();
        m_runDir = QDir::cleanPath(m_runDir);
        args << QStringLiteral("--resume") << resumeFrom;
    }
    args << extraArgs;
    m_announced = false;
    m_metricsOffset = m_samplesOffset = 0;
    if (!resumeFrom.isEmpty()) {
        // Already on the curves of a resumed run: only what the ranks add from now on is new.
        m_metricsOffset = QFileInfo(m_runDir + QStringLiteral("/metrics.jsonl")).size();
        m_samplesOffset = QFileInfo(m_runDir + QStringLiteral("/samples.jsonl")).size();
    }
    m_ranks.clear();
    m_progress = TrainProgressInfo{};
    m_stderrTail.clear();
    m_process.setProgram(m_cli);
    m_process.setArguments(args);
    m_process.setProcessChannelMode(QProcess::SeparateChannels);
    m_process.start();
    if (!m_process.waitForStarted(5000))
        return fail(QStringLiteral("%1: could not start: %2").arg(m_cli, m_process.errorString()));
    m_poll->start();
    return true;
}

void RankRun::stop() {
    if (!running()) return;
    m_process.terminate();  // SIGTERM: the CLI cancels every rank after the current step
    m_kill->start(kStopGraceMs);
}

void RankRun::poll() {
    if (m_runDir.isEmpty() || !QFileInfo(m_runDir + QStringLiteral("/config.json")).exists()) return;
    if (!m_announced) {
        m_announced = true;
        Q_EMIT runStarted(m_runDir);
    }
    readRanks();
    readMetrics();
    readSamples();
}

void RankRun::readMetrics() {
    bool any = false;
    for (const QByteArray& line : newLines(m_runDir + QStringLiteral("/metrics.jsonl"), &m_metricsOffset)) {
        const nlohmann::json j = nlohmann::json::parse(line.toStdString(), nullptr, false);
        if (!j.is_object()) continue;
        const std::string type = j.value("type", std::string());
        const double step = num(j, "step"), tokens = num(j, "tokens");
        if (type == "train") {
            const double loss = num(j, "loss", NAN), lr = num(j, "lr"), gradNorm = num(j, "grad_norm", NAN),
                         rate = num(j, "tokens_per_sec");
            if (std::isfinite(loss)) m_series.append(kSeriesLoss, {step, tokens, loss});
            m_series.append(kSeriesLr, {step, tokens, lr});
            if (std::isfinite(gradNorm)) m_series.append(kSeriesGradNorm, {step, tokens, gradNorm});
            if (rate > 0) m_series.append(kSeriesTokensPerSec, {step, tokens, rate});
            m_progress.step = qint64(step);
            m_progress.tokensSeen = qint64(tokens);
            if (std::isfinite(loss)) m_progress.loss = loss;
            m_progress.lr = lr;
            m_progress.gradNorm = gradNorm;
            m_progress.tokensPerSec = rate;
            m_progress.elapsedSec = num(j, "elapsed_sec");
            m_progress.valid = true;
            any = true;
        } else if (type == "eval") {
            const double valLoss = num(j, "val_loss", NAN);
            if (std::isfinite(valLoss)) m_series.append(kSeriesValLoss, {step, tokens, valLoss});
            any = true;
            Q_EMIT evaluated(qint64(step), qint64(tokens), valLoss, num(j, "bits_per_byte", NAN), j.value("best", false));
        }
    }
    if (any) Q_EMIT pointsReady();
}

void RankRun::readSamples() {
    for (const QByteArray& line : newLines(m_runDir + QStringLiteral("/samples.jsonl"), &m_samplesOffset)) {
        const nlohmann::json j = nlohmann::json::parse(line.toStdString(), nullptr, false);
        if (!j.is_object()) continue;
        Q_EMIT sample(qint64(num(j, "step")), QString::fromStdString(j.value("prompt", std::string())),
                      QString::fromStdString(j.value("text", std::string())));
    }
}

void RankRun::readRanks() {
    QList<RankInfo> ranks;
    QFile f(m_runDir + QStringLiteral("/run.json"));
    if (f.open(QIODevice::ReadOnly)) {
        const nlohmann::json j = nlohmann::json::parse(f.readAll().toStdString(), nullptr, false);
        if (j.is_object() && j.contains("ranks") && j["ranks"].is_array()) {
            for (const auto& r : j["ranks"]) {
                if (!r.is_object()) continue;
                RankInfo info;
                info.rank = int(num(r, "rank"));
                info.pid = qint64(num(r, "pid"));
                info.host = QString::fromStdString(r.value("host", std::string()));
                ranks << info;
            }
        }
    }
    if (ranks.isEmpty()) return;  // not written yet (the ranks are still joining)
    for (RankInfo& r : ranks) r.alive = pidAlive(r.pid);
    bool changed = ranks.size() != m_ranks.size();
    for (qsizetype i = 0; !changed && i < ranks.size(); ++i)
        changed = ranks[i].pid != m_ranks[i].pid || ranks[i].alive != m_ranks[i].alive;
    m_ranks = ranks;
    if (changed) Q_EMIT ranksChanged();
}

void RankRun::onFinished(int exitCode, QProcess::ExitStatus status) {
    m_kill->stop();
    m_poll->stop();
    poll();  // the last lines and the final checkpoint's run.json
    for (RankInfo& r : m_ranks) r.alive = pidAlive(r.pid);
    Q_EMIT ranksChanged();
    TrainOutcome o;
    o.runDir = m_runDir;
    // The CLI prints one JSON object with the result on stdout (rank 0).
    const QList<QByteArray> out = m_process.readAllStandardOutput().split('\n');
    for (auto it = out.rbegin(); it != out.rend(); ++it) {
        const nlohmann::json j = nlohmann::json::parse(it->toStdString(), nullptr, false);
        if (!j.is_object() || !j.contains("stop_reason")) continue;
        o.stopReason = QString::fromStdString(j.value("stop_reason", std::string()));
        o.message = QString::fromStdString(j.value("message", std::string()));
        if (!j.value("run_dir", std::string()).empty()) o.runDir = QString::fromStdString(j["run_dir"].get<std::string>());
        o.lastCheckpoint = QString::fromStdString(j.value("last_checkpoint", std::string()));
        o.bestCheckpoint = QString::fromStdString(j.value("best_checkpoint", std::string()));
        o.steps = qint64(num(j, "steps"));
        o.tokensSeen = qint64(num(j, "tokens_seen"));
        o.numParameters = qint64(num(j, "parameters"));
        o.finalLoss = num(j, "final_loss");
        o.bestValLoss = num(j, "best_val_loss", -1);
        o.tokensPerSec = num(j, "tokens_per_sec");
        o.elapsedSec = num(j, "elapsed_sec");
        if (j.contains("warnings") && j["warnings"].is_array())
            for (const auto& w : j["warnings"])
                if (w.is_string()) o.warnings << QString::fromStdString(w.get<std::string>());
        break;
    }
    const bool crashed = status == QProcess::CrashExit;
    const bool failedRun = crashed || exitCode != 0 || o.stopReason == QStringLiteral("failed");
    if (failedRun) {
        if (o.stopReason.isEmpty()) o.stopReason = QStringLiteral("failed");
        QString why = exitCode == 3 ? QStringLiteral("a rank failed (it died, hung past the timeout, or the ranks could not join)")
                      : crashed     ? QStringLiteral("the trainer process was killed")
                                    : QStringLiteral("the trainer exited with code %1").arg(exitCode);
        if (!m_stderrTail.isEmpty()) why += QStringLiteral(": ") + m_stderrTail.last();
        if (o.message.isEmpty() || o.message == why) o.message = why;
        else o.message = why + QStringLiteral(" — ") + o.message;
    }
    m_configDir.reset();
    Q_EMIT ended(o, failedRun);
}

}  // namespace mts::ui
