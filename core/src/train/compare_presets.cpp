// composeCompareConfig: a comparison suite's shapes and training settings from the presets
// (the one composition the CLI and the studio share).
#include "mts/core/corpus/data_loader.h"
#include "mts/core/model/architectures.h"
#include "mts/core/train/compare_suite.h"
#include "mts/core/train/presets.h"
#include "mts/core/train/small_data.h"

namespace mts {

std::string composeCompareConfig(CompareConfig& c, const PresetCatalog& catalog, const CompareChoice& choice) {
    if (c.archs.empty()) c.archs = knownArchitectureIds();
    std::string trainPreset = choice.trainPreset;
    if (trainPreset == "auto") {
        const auto data = openTrainData(c.data, c.train.valFraction, 2, nullptr);  // only its size is read
        trainPreset = trainingPresetForCorpus(static_cast<int64_t>(data.train.size()));
    }
    c.shapes.clear();
    for (size_t i = 0; i < c.archs.size(); ++i) {
        const std::string& arch = c.archs[i];
        architectureFromString(arch);  // names the accepted ids
        // A preset without this architecture: the Transformer's shape (attention1) or the defaults.
        std::string from = arch;
        const bool inPreset = catalog.models.contains(choice.modelPreset) && catalog.models[choice.modelPreset].contains(arch);
        if (!inPreset) from = arch == "attention1" ? "transformer" : "";
        TrainConfig t = composeConfig(catalog, {from.empty() ? "mamba" : from, choice.modelPreset, choice.memoryTier, trainPreset});
        if (from.empty()) t.model = ModelConfig{};
        t.model.arch = architectureFromString(arch);
        for (const auto& s : choice.sets) t.set(s);
        c.shapes.push_back(t.model);
        if (i == 0) c.train = t;
    }
    return trainPreset;
}

}  // namespace mts
