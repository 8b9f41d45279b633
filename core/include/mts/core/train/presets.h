#pragma once
// Presets: named starting points for a TrainConfig, read from JSON files.
//
//   <resources>/presets/models.json        size name -> {description, mamba: {...}, transformer: {...}}
//                                          (ModelConfig JSON keys)
//   <resources>/presets/memory_tiers.json  tier name -> {description, memory_gb, device, micro_batch,
//                                          grad_accum, precision, grad_checkpointing}
//   <resources>/presets/training.json      name -> {description, config: {TrainConfig JSON keys,
//                                          and optionally "batch_sequences": the effective batch}}
//
// The same three files in the user's preset folder ($XDG_CONFIG_HOME/mamba-studio/presets,
// else ~/.config/mamba-studio/presets) add presets or replace built-in ones of the same name.
// Resources are found at run time: $MTS_RESOURCES_DIR, then <exe dir>/../share/mamba-studio,
// then the source tree this was built from.
//
// A config is composed in layers: TrainConfig defaults -> training preset -> memory tier ->
// model preset (the chosen architecture's entry) -> the training preset's "model" keys
// (regularisation such as dropout, e.g. the small-data preset's) -> whatever the caller applies afterwards
// (--config file, --set key=value). The tier's micro_batch and grad_accum fit memory; a training
// preset with "batch_sequences" B keeps the tier's micro_batch m (at most B) and takes
// grad_accum = ceil(B / m), so its effective batch holds on every tier.
// Threading: all functions are thread-safe (no shared state).
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mts/core/train/train_config.h"

namespace mts {

/// The resources folder (holding presets/). Throws std::runtime_error listing the places
/// looked in when none has presets/.
std::filesystem::path resourcesDir();

/// The user's preset folder (may not exist).
std::filesystem::path userPresetsDir();

struct PresetCatalog {
    nlohmann::json models = nlohmann::json::object();       // name -> entry
    nlohmann::json memoryTiers = nlohmann::json::object();
    nlohmann::json training = nlohmann::json::object();

    /// Built-in presets plus the user's. Throws FormatError naming a malformed file.
    static PresetCatalog load();
    /// Presets from one folder only (tests; a missing file is an empty section).
    static PresetCatalog loadFrom(const std::filesystem::path& presetsDir);
    /// Adds/overrides this catalog's entries with those of `dir` (files that exist there).
    void overlay(const std::filesystem::path& presetsDir);

    std::vector<std::string> modelNames() const;
    std::vector<std::string> memoryTierNames() const;
    std::vector<std::string> trainingNames() const;
};

struct PresetChoice {
    std::string arch = "mamba";      // "mamba" | "transformer"
    std::string model = "mini";
    std::string memoryTier = "cpu";  // or "auto": detectMemoryTier for this machine
    std::string training = "default";
};

/// Composes a config from presets (see above). Throws ConfigError naming an unknown preset
/// and the available ones, or a preset without an entry for the architecture.
TrainConfig composeConfig(const PresetCatalog& catalog, const PresetChoice& choice);

/// The memory tier that matches a machine: with CUDA, the largest GPU tier whose memory_gb
/// fits `deviceMemoryBytes` (+0.5 GB); on a CPU with native bf16 (avx512_bf16 / AMX: bf16
/// autocast trains about twice as fast as fp32 there) "cpu-bf16"; else "cpu". Only tiers
/// the catalog has. `choice.memoryTier` "auto" in composeConfig / memoryTierBytes means this
/// for the running machine (runtimeInfo()).
std::string detectMemoryTier(const PresetCatalog& catalog, bool cuda, int64_t deviceMemoryBytes, bool cpuBf16);

/// Memory of a tier in bytes (memory_gb * 2^30); throws ConfigError for an unknown tier.
int64_t memoryTierBytes(const PresetCatalog& catalog, const std::string& tier);

}  // namespace mts
