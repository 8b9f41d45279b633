// effectiveModelConfig: the one TrainConfig function that reads a model folder (kept apart so
// the config parser itself needs no model I/O, e.g. in the trainer_state.json fuzz target).
#include "mts/core/formats/model_io.h"
#include "mts/core/train/train_config.h"

namespace mts {

ModelConfig effectiveModelConfig(const TrainConfig& config) {
    return config.initFrom.empty() ? config.model : inspectModel(config.initFrom).config;
}

}  // namespace mts
