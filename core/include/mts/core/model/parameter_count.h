#pragma once
// The parameter count a ModelConfig implies, from the architecture's shapes, without building
// the model, in overflow-checked arithmetic: what a model folder's config.json is checked with
// before anything is allocated (a tiny config.json can name dimensions whose product is hundreds
// of GB or overflows int64). Pure functions, thread-safe.
#include <cstdint>
#include <optional>

#include "mts/core/model/model_config.h"

namespace mts {

/// Parameters of a model of `config` (tied embeddings counted once; every product and sum
/// checked), or nothing when one overflows int64 (expand x d_model included). Does not
/// validate the config; a non-positive size gives a meaningless (but defined) count.
std::optional<int64_t> checkedParameterCount(const ModelConfig& config);

/// Bytes of memory this machine has (physical RAM), 0 when unknown.
int64_t physicalMemoryBytes();

}  // namespace mts
