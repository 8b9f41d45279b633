#pragma once
// The one list of architectures the core trains: id (the config's "arch" and the CLI's --arch),
// display name and a one-line description. The CLI's `train --arch`, the Train page's picker,
// toString(Architecture) and architectureFromString() are all read from it, so a new
// architecture reaches every front door by adding its enum value and one entry here (plus its
// class in model_factory.cpp).
//
// Threading: the list is built once and never changes; safe from any thread.
#include <string>
#include <vector>

#include "mts/core/model/model_config.h"

namespace mts {

struct ArchitectureInfo {
    Architecture arch;
    std::string id;           // "mamba", "transformer", ...: the JSON and CLI name
    std::string displayName;  // what pickers show: "Mamba", "Transformer", ...
    std::string description;  // one line for tooltips and --help
    // Model presets (resources/presets/models.json) give sizes per architecture. A preset with
    // no entry for this id borrows the entry of `presetSizesFrom` (same widths and depths);
    // empty = the architecture needs its own entry in every preset it is used with.
    std::string presetSizesFrom;
};

/// Every architecture, in the order pickers show them (the main one first).
const std::vector<ArchitectureInfo>& architectureList();

/// The entry of `a`. Throws ConfigError for a value missing from the list.
const ArchitectureInfo& architectureInfo(Architecture a);

/// The ids of architectureList(), in order ("mamba", "transformer", ...).
std::vector<std::string> architectureIds();

}  // namespace mts
