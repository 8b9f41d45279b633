#pragma once
// Model creation: the one place that knows every architecture's class, so the interface
// (language_model.h) does not include its implementations.
#include "mts/core/model/language_model.h"
#include "mts/core/model/model_config.h"

namespace mts {

/// Builds a freshly initialised model of config.arch (official init for Mamba).
/// Throws ConfigError on an invalid config. Uses the current torch RNG (seed it first).
LanguageModel createModel(const ModelConfig& config);

}  // namespace mts
