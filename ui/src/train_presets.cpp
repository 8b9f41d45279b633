// The Train page's view of the engine presets (mts/core/presets.h) and memory estimator
// (mts/core/memory_estimate.h). Widgets only see train_presets.h.
#include "mts/ui/train_presets.h"

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "mts/core/corpus/corpus_info.h"
#include "mts/core/model/architectures.h"
#include "mts/core/runtime/runtime.h"
#include "mts/core/train/memory_estimate.h"
#include "mts/core/train/presets.h"
#include "mts/core/train/small_data.h"
#include "mts/core/train/train_config.h"
#include "mts/ui/theme.h"

namespace mts::ui {

namespace {

// Loaded once: the preset files do not change while the studio runs.
const ::mts::PresetCatalog& engineCatalog() {
    static std::once_flag once;
    static ::mts::PresetCatalog catalog;
    static std::string error;
    std::call_once(once, [] {
        try {
            catalog = ::mts::PresetCatalog::load();
        } catch (const std::exception& e) {
            error = e.what();
        }
    });
    if (!error.empty()) throw std::runtime_error("presets not found: " + error);
    return catalog;
}

QString q(const std::string& s) { return QString::fromStdString(s); }

QString capitalised(const std::string& s) {
    QString t = q(s);
    if (!t.isEmpty()) t[0] = t[0].toUpper();
    return t;
}

std::string description(const nlohmann::json& entry) {
    return entry.is_object() ? entry.value("description", std::string()) : std::string();
}

bool tierIsCuda(const ::mts::PresetCatalog& c, const std::string& tier) {
    auto it = c.memoryTiers.find(tier);
    return it != c.memoryTiers.end() && it->is_object() && it->value("device", std::string("cpu")) == "cuda";
}

double tierGb(const ::mts::PresetCatalog& c, const std::string& tier) {
    auto it = c.memoryTiers.find(tier);
    return it != c.memoryTiers.end() && it->is_object() ? it->value("memory_gb", 0.0) : 0.0;
}

int64_t mambaSize(const ::mts::PresetCatalog& c, const std::string& model) {
    try {
        return countParameters(composeConfig(c, {"mamba", model, c.memoryTierNames().front(), c.trainingNames().front()}).model);
    } catch (const std::exception&) {
        return 0;
    }
}

::mts::MemoryEstimate estimateFor(const TrainConfig& cfg, const std::string& tier) {
    const auto& c = engineCatalog();
    return ::mts::estimateMemory(cfg, tierIsCuda(c, tier), memoryTierBytes(c, tier));
}

}  // namespace

PresetCatalog presetCatalog() {
    PresetCatalog out;
    const auto& c = engineCatalog();
    for (const ArchitectureInfo& a : architectureList())
        out.architectures.push_back({q(a.id), q(a.displayName), q(a.description)});
    std::vector<std::string> models = c.modelNames();
    std::stable_sort(models.begin(), models.end(),
                     [&](const std::string& a, const std::string& b) { return mambaSize(c, a) < mambaSize(c, b); });
    for (const std::string& m : models) out.sizes.push_back({q(m), capitalised(m), q(description(c.models[m]))});
    std::vector<std::string> tiers = c.memoryTierNames();
    std::stable_sort(tiers.begin(), tiers.end(), [&](const std::string& a, const std::string& b) {
        const bool ca = tierIsCuda(c, a), cb = tierIsCuda(c, b);
        return ca != cb ? !ca : tierGb(c, a) < tierGb(c, b);
    });
    for (const std::string& t : tiers) {
        out.tiers.push_back({q(t), q(description(c.memoryTiers[t])).isEmpty() ? q(t) : q(description(c.memoryTiers[t])),
                             QStringLiteral("%1 GB %2: sets micro-batch, accumulation, precision and checkpointing to fit")
                                 .arg(tierGb(c, t))
                                 .arg(tierIsCuda(c, t) ? QStringLiteral("GPU") : QStringLiteral("CPU"))});
    }
    std::vector<std::string> trainings = c.trainingNames();
    auto def = std::find(trainings.begin(), trainings.end(), "default");
    if (def != trainings.end()) std::rotate(trainings.begin(), def, def + 1);
    for (const std::string& t : trainings) out.trainings.push_back({q(t), capitalised(t), q(description(c.training[t]))});

    const RuntimeInfo& info = runtimeInfo();
    out.detectedTier = q(::mts::detectMemoryTier(c, info.cuda, info.deviceMemoryBytes, info.cpuBf16));
    return out;
}

TrainConfig composeTrainConfig(const PresetChoice& choice, const QString& dataset) {
    const auto& c = engineCatalog();
    ::mts::PresetChoice engineChoice;
    if (!choice.arch.isEmpty()) engineChoice.arch = choice.arch.toStdString();
    if (!choice.size.isEmpty()) engineChoice.model = choice.size.toStdString();
    if (!choice.tier.isEmpty()) engineChoice.memoryTier = choice.tier.toStdString();
    if (!choice.training.isEmpty()) engineChoice.training = choice.training.toStdString();
    TrainConfig cfg = composeConfig(c, engineChoice);
    cfg.data = dataset.toStdString();
    return cfg;
}

QString composeConfigJson(const PresetChoice& choice, const QString& dataset) {
    return q(composeTrainConfig(choice, dataset).toJson().dump(2));
}

DatasetDefaults datasetDefaults(const QString& corpusDir) {
    DatasetDefaults d;
    if (corpusDir.isEmpty()) return d;
    try {
        const CorpusInfo info = readCorpusInfo(corpusDir.toStdString());
        d.trainTokens = static_cast<qint64>(info.trainTokens);
    } catch (const std::exception&) {
        return d;  // not a corpus folder (yet): nothing to suggest
    }
    d.training = q(trainingPresetForCorpus(d.trainTokens));
    d.size = q(modelPresetForCorpus(d.trainTokens, ""));
    const double millions = double(d.trainTokens) / 1e6;
    const double limit = double(kSmallDataTokens) / 1e6;
    d.note = isSmallCorpus(d.trainTokens)
                 ? QStringLiteral("Small dataset: %1 M training tokens (under %2 M), so the small-data recipe "
                                  "(compact size, dropout, early stopping) is picked; choose another size or training "
                                  "preset to override.")
                       .arg(millions, 0, 'f', 2)
                       .arg(limit, 0, 'f', 0)
                 : QStringLiteral("%1 M training tokens: the default training preset.").arg(millions, 0, 'f', 1);
    return d;
}

ModelSizeView modelSize(const QString& configJson) {
    ModelSizeView v;
    nlohmann::json j = nlohmann::json::parse(configJson.toStdString(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return v;
    try {
        const ModelConfig m = j.contains("model") ? ModelConfig::fromJson(j["model"]) : ModelConfig{};
        v.params = countParameters(m);
        int64_t embedding = m.paddedVocab() * m.dModel;
        if ((m.arch == Architecture::Transformer || m.arch == Architecture::Moe) && m.positions == "learned") embedding += m.maxSeqLen * m.dModel;
        v.nonEmbeddingParams = std::max<int64_t>(0, v.params - embedding);
    } catch (const std::exception&) {
    }
    return v;
}

MemoryEstimateView estimateMemory(const TrainConfig& config, const QString& tier) {
    TrainConfig cfg = config;
    // Fine-tuning trains the pretrained model, whatever the model section says. This runs on
    // every edit of the JSON, so the model folder's headers are read once per folder.
    if (!cfg.initFrom.empty()) {
        static std::mutex cacheMutex;
        static std::string cachedPath;
        static ::mts::ModelConfig cachedModel;
        std::lock_guard<std::mutex> lock(cacheMutex);
        if (cachedPath != cfg.initFrom) {
            cachedModel = ::mts::effectiveModelConfig(cfg);
            cachedPath = cfg.initFrom;
        }
        cfg.model = cachedModel;
    }
    const std::string tierName = tier.toStdString();
    const ::mts::MemoryEstimate e = estimateFor(cfg, tierName);
    MemoryEstimateView v;
    v.weights = double(e.paramBytes);
    v.gradients = double(e.gradBytes);
    v.optimizer = double(e.optimizerBytes);
    v.activations = double(e.activationBytes);
    v.other = double(e.workspaceBytes + e.runtimeBytes);
    v.budget = double(e.budgetBytes);
    v.fits = e.fits;
    v.summary = QStringLiteral("%1 M parameters · peak ≈ %2").arg(double(e.parameters) / 1e6, 0, 'f', 2).arg(formatBytes(double(e.peakBytes)));
    if (e.fits) return v;

    // Suggest the smallest change that fits: checkpointing, then a smaller micro-batch, then a
    // smaller model preset of the same architecture.
    if (!cfg.gradCheckpointing) {
        TrainConfig t = cfg;
        t.gradCheckpointing = true;
        if (estimateFor(t, tierName).fits) {
            v.suggestion = QStringLiteral("Enable gradient checkpointing (\"grad_checkpointing\": true) and it fits.");
            return v;
        }
    }
    for (int64_t mb = cfg.microBatch / 2; mb >= 1; mb /= 2) {
        TrainConfig t = cfg;
        t.microBatch = mb;
        t.gradAccum = cfg.gradAccum * std::max<int64_t>(1, cfg.microBatch / mb);
        if (estimateFor(t, tierName).fits) {
            v.suggestion = QStringLiteral("Use micro_batch %1 with grad_accum %2 (same effective batch) and it fits.").arg(mb).arg(t.gradAccum);
            return v;
        }
    }
    const PresetCatalog catalog = presetCatalog();
    QString fitting;
    for (const PresetOption& size : catalog.sizes) {
        try {
            ::mts::PresetChoice choice{toString(cfg.model.arch), size.id.toStdString(), tierName, "default"};
            TrainConfig t = composeConfig(engineCatalog(), choice);
            t.seqLen = cfg.seqLen;
            if (estimateFor(t, tierName).fits) fitting = size.label;
        } catch (const std::exception&) {
        }
    }
    v.suggestion = fitting.isEmpty() ? QStringLiteral("No preset size fits this tier; pick a larger tier.")
                                     : QStringLiteral("The largest size that fits this tier is %1.").arg(fitting);
    return v;
}

}  // namespace mts::ui
