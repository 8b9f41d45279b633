#pragma once
// The Train page's view of the engine's presets and memory estimator: the lists the pickers
// show (with tooltips), the effective TrainConfig a choice composes to, and the memory
// estimate of a config against a tier. Plain functions over the engine's presets API; they
// hold no state. GUI thread (they are quick: JSON and arithmetic).
#include <QMap>
#include <QString>
#include <QStringList>
#include <QVector>

#include "mts/core/train/train_config.h"

namespace mts::ui {

struct PresetOption {
    QString id;       // engine key, e.g. "tiny"
    QString label;    // what the picker shows
    QString tooltip;  // what it does
};

struct PresetCatalog {
    QVector<PresetOption> architectures, sizes, tiers, trainings;
    QString detectedTier;  // the tier matching this machine (GPU memory, or CPU)
};

PresetCatalog presetCatalog();

struct PresetChoice {
    QString arch, size, tier, training;
};

/// The full effective TrainConfig for a choice and a dataset folder. Throws std::runtime_error
/// with a message for an unknown preset.
TrainConfig composeTrainConfig(const PresetChoice& choice, const QString& dataset);
/// composeTrainConfig() as its JSON (TrainConfig::toJson, pretty-printed).
QString composeConfigJson(const PresetChoice& choice, const QString& dataset);

/// What a dataset asks of the pickers (core/train/small_data.h): for a corpus under
/// kSmallDataTokens (5M) training tokens `training` is "small-data" and `size` "compact" (the
/// size the recipe was tuned at); for a larger one "default" and no size. `note` says which and
/// why, for the page to show. All empty when the folder has no readable manifest.json (the
/// pickers are then left as they are). Reads the manifest only (small).
struct DatasetDefaults {
    QString training;
    QString size;
    QString note;
    qint64 trainTokens = -1;
};
DatasetDefaults datasetDefaults(const QString& corpusDir);

struct MemoryEstimateView {
    double weights = 0, gradients = 0, optimizer = 0, activations = 0, other = 0;  // bytes
    double budget = 0;  // bytes available in the tier
    bool fits = true;
    QString suggestion;  // what would fit, when it does not
    QString summary;     // e.g. "12.3 M parameters"
};

/// Parameter counts of the model a TrainConfig JSON describes (-1 when it cannot be read):
/// total and non-embedding (the N of the 6·N·T training FLOPs estimate).
struct ModelSizeView {
    qint64 params = -1;
    qint64 nonEmbeddingParams = -1;
};
ModelSizeView modelSize(const QString& configJson);

/// Estimate for a TrainConfig against a tier (a fine-tuning config is estimated for its
/// pretrained model). Throws std::runtime_error for an unreadable model folder or unknown tier.
MemoryEstimateView estimateMemory(const TrainConfig& config, const QString& tier);

}  // namespace mts::ui
