// LibTorch first: Qt defines `slots` as a macro, which breaks torch's ivalue headers.
#include "mts/core/formats/model_io.h"
#include "mts/core/generate/conversation.h"
#include "mts/core/generate/generation.h"
#include "mts/core/generate/vocabulary.h"

#include "mts/ui/generation_job.h"

#include <QMetaObject>

namespace mts::ui {

struct GenerationJob::Model {
    LoadedModel loaded;
    std::unique_ptr<Conversation> conversation;  // touched on the worker (or while it is idle)
};

GenerationJob::GenerationJob(QObject* parent) : QObject(parent) {}

GenerationJob::~GenerationJob() {
    m_cancel = true;
    m_thread.join();
}

bool GenerationJob::hasModel() const { return m_model != nullptr; }

void GenerationJob::loadModel(const QString& path) {
    if (busy()) stop();
    m_thread.join();
    const std::string p = path.toStdString();
    m_thread.start([this, p, beforeLoad = m_beforeLoad] {
        runGuarded(
            [&] {
                if (beforeLoad) beforeLoad();
                auto model = std::make_shared<Model>();
                model->loaded = mts::loadModel(p);
                model->conversation =
                    std::make_unique<Conversation>(*model->loaded.model, model->loaded.tokenizer.get());
                const auto& cfg = model->loaded.model->config();
                QString description =
                    QStringLiteral("%1 · %2 M params · %3 tokenizer · %4")
                        .arg(QString::fromStdString(toString(cfg.arch)))
                        .arg(double(model->loaded.model->numParameters()) / 1e6, 0, 'f', 2)
                        .arg(QString::fromStdString(model->loaded.tokenizer ? model->loaded.tokenizer->kind() : "no"))
                        .arg(QString::fromStdString(model->loaded.dir.string()));
                if (auto note = vocabularyNote(cfg, model->loaded.tokenizer.get()))
                    description += QStringLiteral("\nNote: ") + QString::fromStdString(*note);
                QMetaObject::invokeMethod(this, [this, model, description] {
                    m_model = model;
                    Q_EMIT modelLoaded(description);
                }, Qt::QueuedConnection);
            },
            [this](const QString& message) {
                QMetaObject::invokeMethod(this, [this, message] { Q_EMIT failed(message); }, Qt::QueuedConnection);
            });
    });
}

bool GenerationJob::generate(const QString& prompt, const SamplingSettings& settings) {
    if (busy() || !m_model) return false;
    m_thread.join();
    m_cancel = false;
    std::shared_ptr<Model> model = m_model;
    const std::string promptText = prompt.toStdString();
    const bool reset = m_resetPending.exchange(false);
    m_thread.start([this, model, promptText, settings, reset] {
        runGuarded(
            [&] {
                if (reset) model->conversation->reset();
                SamplingOptions o;
                o.temperature = settings.temperature;
                o.topK = settings.topK;
                o.topP = settings.topP;
                o.minP = settings.minP;
                o.repetitionPenalty = settings.repetitionPenalty;
                o.maxNewTokens = settings.maxNewTokens;
                o.seed = settings.seed;
                // The prompt continues the transcript; the model's state is carried, not recomputed.
                const GenerateResult result = model->conversation->send(
                    promptText, o,
                    [this](int32_t, const std::string& piece) {
                        if (!piece.empty()) {
                            const QString q = QString::fromStdString(piece);
                            QMetaObject::invokeMethod(this, [this, q] { Q_EMIT text(q); }, Qt::QueuedConnection);
                        }
                        return !m_cancel.load();
                    });
                const QString reason = QString::fromStdString(toString(result.stopReason));
                const int tokens = int(result.ids.size());
                const double rate = result.tokensPerSecond;
                QMetaObject::invokeMethod(this, [this, reason, tokens, rate] { Q_EMIT finished(reason, tokens, rate); },
                                          Qt::QueuedConnection);
            },
            [this](const QString& message) {
                QMetaObject::invokeMethod(this, [this, message] { Q_EMIT failed(message); }, Qt::QueuedConnection);
            });
    });
    return true;
}

void GenerationJob::stop() { m_cancel = true; }

void GenerationJob::resetConversation() { m_resetPending = true; }

QString GenerationJob::transcript() const {
    if (!m_model || busy()) return {};
    return QString::fromStdString(m_resetPending ? std::string() : m_model->conversation->text());
}

}  // namespace mts::ui
