#pragma once
// config.json of a model folder, in the three layouts the loader reads:
//   "hf"            Hugging Face MambaForCausalLM (hidden_size, num_hidden_layers, state_size, ...)
//                   or Mamba2ForCausalLM (model_type "mamba2": + head_dim, num_heads, n_groups, ...)
//   "state-spaces"  the original mamba_ssm MambaConfig (d_model, n_layer, ssm_cfg, ...), with
//                   ssm_cfg.layer "Mamba1" (default) or "Mamba2" (+ headdim, ngroups, chunk_size)
//   "studio"        any config.json carrying "mts_config" (the full ModelConfig; all architectures)
// and the Hugging Face config.json the studio writes for a Mamba or Mamba-2 model.
// Python's json writes inf as the non-standard Infinity (transformers' Mamba-2 configs hold
// "time_step_limit": [0.0, Infinity]); readCheckpointConfig accepts it.
// Pure functions, thread-safe. Malformed input throws FormatError(file, problem).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "mts/core/model/model_config.h"

namespace mts {

struct CheckpointConfig {
    ModelConfig config;   // vocabSize as the file says; the loader reconciles it with the embedding
    std::string layout;   // "hf", "state-spaces" or "studio"
};

/// Interprets a parsed config.json. `file` is used in error messages. Unsupported variants
/// (LayerNorm instead of RMSNorm, attention/MLP layers, unknown activation, a clamped Mamba-2
/// dt), inconsistent Mamba-2 heads (num_heads != expand * hidden_size / head_dim, head_dim not
/// dividing it, n_groups not dividing the heads), implausibly large sizes and wrong types on
/// known keys are FormatErrors naming the key; unknown keys are ignored.
CheckpointConfig parseCheckpointConfig(const nlohmann::json& j, const std::string& file);

/// Reads and parses dir/config.json (or the given file).
CheckpointConfig readCheckpointConfig(const std::filesystem::path& configJson);

/// Token ids a Hugging Face config records (bos/eos/pad); all default to eos when only it is known.
struct SpecialIds {
    std::optional<int32_t> bos, eos, pad;
};

/// config.json for transformers' MambaForCausalLM: vocab_size is the padded embedding size
/// (what from_pretrained allocates). Throws ConfigError when config is not a plain Mamba (the
/// seed-experiment variants have no Hugging Face equivalent) unless allowVariants is true.
nlohmann::json toHfMambaConfig(const ModelConfig& config, const SpecialIds& ids = {},
                               bool allowVariants = false);

/// config.json for transformers' Mamba2ForCausalLM (model_type "mamba2"): vocab_size is the
/// padded embedding size, num_heads = expand * hidden_size / head_dim, time_step_limit left at
/// its default (0, inf). Throws ConfigError when config is not a Mamba-2 model.
nlohmann::json toHfMamba2Config(const ModelConfig& config, const SpecialIds& ids = {});

}  // namespace mts
