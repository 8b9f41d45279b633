#include "mts/ui/training_controller.h"

#include <cmath>

#include <QCoreApplication>
#include <QMetaObject>

#include <nlohmann/json.hpp>

#include "mts/core/train/trainer.h"
#include "mts/ui/live_series.h"
#include "mts/ui/rank_run.h"

namespace mts::ui {

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

// The checkpoint's config with overridesJson (may be empty) merged over it.
TrainConfig resumedConfig(const std::string& runOrCheckpoint, const std::string& overridesJson) {
    nlohmann::json base = Trainer::resumeConfig(runOrCheckpoint).toJson();
    if (!overridesJson.empty()) mergeJson(base, nlohmann::json::parse(overridesJson));
    return TrainConfig::fromJson(base);
}

TrainProgressInfo progressInfo(const TrainProgress& p) {
    TrainProgressInfo info;
    info.step = p.step;
    info.maxSteps = p.maxSteps;
    info.tokensSeen = p.tokensSeen;
    info.loss = p.loss;
    info.lr = p.lr;
    info.gradNorm = p.gradNorm;
    info.tokensPerSec = p.tokensPerSec;
    info.elapsedSec = p.elapsedSec;
    info.etaSec = p.etaSec;
    info.skippedSteps = p.skippedSteps;
    info.valid = true;
    return info;
}

// One step's points on the live curves (skipped steps and non-finite values left out).
void appendProgressPoints(SeriesBuffer& series, const TrainProgress& p) {
    const double step = double(p.step), tokens = double(p.tokensSeen);
    if (!p.skipped && std::isfinite(p.loss)) series.append(kSeriesLoss, {step, tokens, p.loss});
    series.append(kSeriesLr, {step, tokens, p.lr});
    if (std::isfinite(p.gradNorm)) series.append(kSeriesGradNorm, {step, tokens, p.gradNorm});
    if (p.tokensPerSec > 0) series.append(kSeriesTokensPerSec, {step, tokens, p.tokensPerSec});
}

TrainOutcome outcomeOf(const TrainResult& result) {
    TrainOutcome o;
    o.stopReason = q(toString(result.stopReason));
    o.message = q(result.message);
    o.runDir = q(result.runDir.string());
    o.lastCheckpoint = q(result.lastCheckpoint.string());
    o.bestCheckpoint = q(result.bestCheckpoint.string());
    o.steps = result.steps;
    o.tokensSeen = result.tokensSeen;
    o.numParameters = result.numParameters;
    o.finalLoss = result.finalLoss;
    o.bestValLoss = result.bestValLoss;
    o.tokensPerSec = result.tokensPerSec;
    o.elapsedSec = result.elapsedSec;
    for (const std::string& w : result.warnings) o.warnings << q(w);
    return o;
}

}  // namespace

TrainingController::TrainingController(QObject* parent) : QObject(parent), m_coalescer(new ReplotCoalescer(40, this)) {
    connect(m_coalescer, &ReplotCoalescer::ready, this, &TrainingController::pointsReady);
}

TrainingController::~TrainingController() {
    if (m_trainer) m_trainer->cancel();
    m_thread.join();
}

RankRun* TrainingController::rankRun() {
    if (!m_ranks) {
        m_ranks = new RankRun(m_series, this);
        connect(m_ranks, &RankRun::pointsReady, this, [this] {
            {
                std::lock_guard<std::mutex> lock(m_progressMutex);
                m_progress = m_ranks->latestProgress();
            }
            m_coalescer->request();
        });
        connect(m_ranks, &RankRun::evaluated, this, &TrainingController::evaluated);
        connect(m_ranks, &RankRun::sample, this, &TrainingController::sample);
        connect(m_ranks, &RankRun::logLine, this, &TrainingController::logLine);
        connect(m_ranks, &RankRun::ranksChanged, this, &TrainingController::ranksChanged);
        connect(m_ranks, &RankRun::runStarted, this, [this](const QString& dir) {
            m_runDir = dir;
            Q_EMIT runStarted(dir);
        });
        connect(m_ranks, &RankRun::ended, this, [this](const TrainOutcome& o, bool failedRun) {
            m_rankRunActive = false;
            onRunEnded(o, failedRun);
        });
    }
    return m_ranks;
}

QList<RankInfo> TrainingController::ranks() const { return m_ranks ? m_ranks->ranks() : QList<RankInfo>{}; }

bool TrainingController::launchRanks(const TrainConfig& config, const QString& runsFolder, const QString& name,
                                     const QString& resumeFrom, const QStringList& extraArgs, QString* error) {
    try {
        if (resumeFrom.isEmpty()) config.validate();
    } catch (const std::exception& e) {
        if (error) *error = actionableError(e.what());
        return false;
    }
    {
        std::lock_guard<std::mutex> lock(m_progressMutex);
        m_progress = TrainProgressInfo{};
    }
    m_series.drain();
    m_runDir.clear();
    if (!rankRun()->start(config, runsFolder, name, m_processes, resumeFrom, extraArgs, error)) return false;
    m_rankRunActive = true;
    setState(State::Running);
    return true;
}

TrainProgressInfo TrainingController::latestProgress() const {
    std::lock_guard<std::mutex> lock(m_progressMutex);
    return m_progress;
}

void TrainingController::setState(State state) {
    if (m_state == state) return;
    m_state = state;
    Q_EMIT stateChanged(state);
}

bool TrainingController::start(const TrainConfig& config, const QString& runsFolder, const QString& runName,
                               QString* error) {
    if (m_processes > 1) {
        if (active()) {
            if (error) *error = QStringLiteral("A training run is already active.");
            return false;
        }
        return launchRanks(config, runsFolder, runName, {}, {}, error);
    }
    return launch(config, runsFolder.toStdString(), runName.toStdString(), {}, error);
}

bool TrainingController::resumeRun(const QString& runOrCheckpoint, const QString& overridesJson, QString* error) {
    if (m_processes > 1) {
        if (active()) {
            if (error) *error = QStringLiteral("A training run is already active.");
            return false;
        }
        // The ranks resume the run as saved; a new step limit is the one override they take.
        QStringList extra;
        if (!overridesJson.trimmed().isEmpty()) {
            const nlohmann::json o = nlohmann::json::parse(overridesJson.toStdString(), nullptr, false);
            for (auto it = o.is_object() ? o.begin() : o.end(); it != o.end(); ++it) {
                if (it.key() == "max_steps" && it->is_number_integer()) {
                    extra << QStringLiteral("--max-steps") << QString::number(it->get<long long>());
                } else {
                    if (error) *error = QStringLiteral("Resuming with several processes keeps the run's settings; '%1' "
                                                       "can only change with 1 process.").arg(QString::fromStdString(it.key()));
                    return false;
                }
            }
        }
        const TrainConfig saved;  // unused: the ranks read the run's own config
        return launchRanks(saved, QString(), QString(), runOrCheckpoint, extra, error);
    }
    TrainConfig config;
    try {
        config = resumedConfig(runOrCheckpoint.toStdString(), overridesJson.toStdString());
    } catch (const std::exception& e) {
        if (error) *error = actionableError(e.what());
        return false;
    }
    return launch(config, {}, {}, runOrCheckpoint.toStdString(), error);
}

bool TrainingController::launch(const TrainConfig& config, const std::string& runsFolder, const std::string& name,
                                const std::string& resumeFrom, QString* error) {
    if (active()) {
        if (error) *error = QStringLiteral("A training run is already active.");
        return false;
    }
    m_thread.join();
    try {
        config.validate();
        m_trainer = std::make_unique<Trainer>(config, TrainStart{runsFolder, name, resumeFrom, {}}, makeCallbacks());
    } catch (const std::exception& e) {
        if (error) *error = actionableError(e.what());
        return false;
    }
    {
        std::lock_guard<std::mutex> lock(m_progressMutex);
        m_progress = TrainProgressInfo{};
    }
    m_series.drain();
    m_runDir.clear();
    setState(State::Running);
    startWorker();
    return true;
}

// Callbacks run on the training thread: they only touch the locked buffers, atomics, and
// queued invocations on this object (which outlives the thread: the destructor joins).
TrainCallbacks TrainingController::makeCallbacks() {
    TrainCallbacks cb;
    cb.onProgress = [this](const TrainProgress& p) {
        {
            std::lock_guard<std::mutex> lock(m_progressMutex);
            m_progress = progressInfo(p);
        }
        appendProgressPoints(m_series, p);
        m_coalescer->request();
    };
    cb.onEval = [this](const EvalReport& r) {
        m_series.append(kSeriesValLoss, {double(r.step), double(r.tokensSeen), r.valLoss});
        m_coalescer->request();
        QMetaObject::invokeMethod(this, [this, r] { Q_EMIT evaluated(r.step, r.tokensSeen, r.valLoss, r.bitsPerByte, r.best); },
                                  Qt::QueuedConnection);
    };
    cb.onSample = [this](const SampleReport& r) {
        const QString prompt = q(r.prompt), text = q(r.text);
        const qint64 step = r.step;
        QMetaObject::invokeMethod(this, [this, step, prompt, text] { Q_EMIT sample(step, prompt, text); }, Qt::QueuedConnection);
    };
    cb.onCheckpoint = [this](const CheckpointReport& r) {
        const QString dir = q(r.dir.string());
        const QString runDir = q(r.dir.parent_path().parent_path().string());
        const qint64 step = r.step;
        const bool best = r.best;
        QMetaObject::invokeMethod(this, [this, step, dir, runDir, best] {
            if (m_runDir != runDir) {
                m_runDir = runDir;
                Q_EMIT runStarted(runDir);
            }
            Q_EMIT checkpointSaved(step, dir, best);
        }, Qt::QueuedConnection);
    };
    cb.onLog = [this](const std::string& line) {
        const QString text = q(line);
        QMetaObject::invokeMethod(this, [this, text] { Q_EMIT logLine(text); }, Qt::QueuedConnection);
    };
    cb.onWarning = [this](const std::string& line) {
        const QString text = q(line);
        QMetaObject::invokeMethod(this, [this, text] { Q_EMIT warning(text); }, Qt::QueuedConnection);
    };
    return cb;
}

void TrainingController::startWorker() {
    Trainer* trainer = m_trainer.get();
    m_thread.start([this, trainer] {
        TrainResult result;
        runGuarded([&] { result = trainer->run(); },
                   [&](const QString& message) {
                       result.stopReason = TrainStopReason::Failed;
                       result.message = message.toStdString();
                   });
        const TrainOutcome o = outcomeOf(result);
        const bool failedRun = result.stopReason == TrainStopReason::Failed;
        QMetaObject::invokeMethod(this, [this, o, failedRun] { onRunEnded(o, failedRun); }, Qt::QueuedConnection);
    });
}

void TrainingController::onRunEnded(const TrainOutcome& o, bool failedRun) {
    m_thread.join();
    m_trainer.reset();
    if (!o.runDir.isEmpty()) m_runDir = o.runDir;
    setState(State::Idle);
    Q_EMIT pointsReady();
    if (failedRun) Q_EMIT failed(actionableError(o.message.toStdString()));
    Q_EMIT finished(o);
}

void TrainingController::pause() {
    if (m_rankRunActive) return;  // not offered for a multi-process run
    if (m_trainer && m_state == State::Running) {
        m_trainer->pause();
        setState(State::Paused);
    }
}

void TrainingController::resume() {
    if (m_trainer && m_state == State::Paused) {
        m_trainer->resume();
        setState(State::Running);
    }
}

void TrainingController::stop() {
    if (m_rankRunActive && (m_state == State::Running || m_state == State::Paused)) {
        m_ranks->stop();
        setState(State::Stopping);
        return;
    }
    if (m_trainer && (m_state == State::Running || m_state == State::Paused)) {
        m_trainer->cancel();
        setState(State::Stopping);
    }
}

void TrainingController::waitForFinish() {
    m_thread.join();
    // A multi-process run: its processes stop on their own (SIGTERM was sent by stop());
    // nothing here blocks on them.
    // Deliver the queued finished() now so callers see the final state.
    QCoreApplication::sendPostedEvents(this);
}

}  // namespace mts::ui
