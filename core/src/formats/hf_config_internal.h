#pragma once
// Shared between hf_config.cpp (layout detection, Mamba-1) and hf_config_mamba2.cpp (Mamba-2
// in the Hugging Face and state-spaces layouts). Not a public header.
#include <string>

#include <nlohmann/json.hpp>

#include "formats/config_reader.h"
#include "mts/core/model/model_config.h"

namespace mts::detail {

/// transformers' Mamba2ForCausalLM config.json (model_type "mamba2") -> ModelConfig. Keys absent
/// from the file take transformers' Mamba2Config defaults. Refuses (FormatError naming the file
/// and key) num_heads != expand * hidden_size / head_dim, a head_dim that does not divide
/// expand * hidden_size, and variants the studio's Mamba-2 does not have (rms_norm false,
/// norm_before_gate true, a time_step_limit other than (0, inf), an activation other than SiLU).
ModelConfig fromHfMamba2(const nlohmann::json& j, const std::string& file);

/// The Mamba-2 part of a state-spaces (mamba_ssm) config.json: `ssmCfg` is its "ssm_cfg" object
/// with layer "Mamba2" (keys d_state, d_conv, expand, headdim, ngroups, chunk_size, dt_min,
/// dt_max, dt_init_floor, dt_limit, bias, conv_bias, rmsnorm, norm_before_gate, D_has_hdim,
/// d_ssm; mamba_ssm's Mamba2 defaults for absent keys). Sets c.arch and the SSM fields; the
/// caller has read the top-level keys. Refuses variants as fromHfMamba2 does.
void readStateSpacesMamba2(const ConfigReader& ssmCfg, ModelConfig& c);

}  // namespace mts::detail
