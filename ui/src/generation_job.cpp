// LibTorch first: Qt defines `slots` as a macro, which breaks torch's ivalue headers.
#include "mts/core/formats/model_io.h"
#include "mts/core/generate/generation.h"

#include "mts/ui/generation_job.h"

#include <QMetaObject>

namespace mts::ui {

struct GenerationJob::Model {
    LoadedModel loaded;
    // The fused decoder's packed weights, kept between Sends (rebuilt when the precision
    // changes); used on the worker thread only.
    std::unique_ptr<InferenceModel> inference;
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
    m_thread.start([this, p] {
        runGuarded(
            [&] {
                auto model = std::make_shared<Model>();
                model->loaded = mts::loadModel(p);
                const auto& cfg = model->loaded.model->config();
                const QString description =
                    QStringLiteral("%1 · %2 M params · stored %3 · %4 tokenizer · %5")
                        .arg(QString::fromStdString(toString(cfg.arch)))
                        .arg(double(model->loaded.model->numParameters()) / 1e6, 0, 'f', 2)
                        .arg(QString::fromStdString(model->loaded.storedDtype))
                        .arg(QString::fromStdString(model->loaded.tokenizer ? model->loaded.tokenizer->kind() : "no"))
                        .arg(QString::fromStdString(model->loaded.dir.string()));
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
    m_thread.start([this, model, promptText, settings] {
        runGuarded(
            [&] {
                GenerateRequest request;
                if (model->loaded.tokenizer) request.promptIds = model->loaded.tokenizer->encode(promptText);
                SamplingOptions& o = request.options;
                o.temperature = settings.temperature;
                o.topK = settings.topK;
                o.topP = settings.topP;
                o.minP = settings.minP;
                o.repetitionPenalty = settings.repetitionPenalty;
                o.maxNewTokens = settings.maxNewTokens;
                o.seed = settings.seed;
                request.weights = settings.weights.toStdString();
                const std::string w = request.weights == "auto" ? kDefaultInferenceWeights : request.weights;
                if (w != "reference" && InferenceModel::supports(*model->loaded.model)) {
                    const decode::WeightType type = decode::weightTypeFromString(w);
                    if (!model->inference || model->inference->weights() != type)
                        model->inference = std::make_unique<InferenceModel>(*model->loaded.model, type);
                    request.inference = model->inference.get();
                }
                const GenerateResult result = mts::generate(
                    *model->loaded.model, model->loaded.tokenizer.get(), request,
                    [this](int32_t, const std::string& piece) {
                        if (!piece.empty()) {
                            const QString q = QString::fromStdString(piece);
                            QMetaObject::invokeMethod(this, [this, q] { Q_EMIT text(q); }, Qt::QueuedConnection);
                        }
                        return !m_cancel.load();
                    });
                const QString reason = QString::fromStdString(toString(result.stopReason) + " · " + result.weights +
                                                              " weights");
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

}  // namespace mts::ui
