// Mamba-2 config.json in the two published layouts -> ModelConfig, and back to Hugging Face.
// Key names and defaults: transformers' configuration_mamba2.py (Mamba2Config) and mamba_ssm's
// modules/mamba2.py (Mamba2.__init__), which state-spaces' ssm_cfg feeds.
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "formats/hf_config_internal.h"
#include "mts/core/formats/hf_config.h"
#include "mts/core/runtime/errors.h"

namespace mts {
namespace detail {
namespace {

using nlohmann::json;

// Sizes are multiplied below (expand * d_model); anything this large is refused first, as
// parseCheckpointConfig refuses it for every other key.
constexpr int64_t kMaxDim = int64_t{1} << 24;

int64_t bounded(const ConfigReader& r, const char* key, std::optional<int64_t> def) {
    const int64_t v = r.integer(key, def);
    if (v > kMaxDim) r.fail(key, fmt::format("= {} is implausibly large", v));
    if (v <= 0) r.fail(key, fmt::format("must be > 0, got {}", v));
    return v;
}

// The studio's Mamba-2 uses softplus(dt) unclamped: only the published default (0, inf) fits.
void requireNoDtLimit(const ConfigReader& r, const char* key) {
    const auto [lo, hi] = r.range(key, {0.0, HUGE_VAL});
    if (!(lo <= 0.0) || !std::isinf(hi) || hi < 0)
        r.fail(key, fmt::format("= [{}, {}] is not supported: the studio's Mamba-2 does not clamp dt (only [0.0, Infinity])",
                                lo, hi));
}

// Mamba-2 heads: d_inner / head_dim (sizes bounded, head_dim > 0 checked by the caller).
int64_t heads(const ModelConfig& c) { return c.expand * c.dModel / c.headDim; }

// head_dim must split d_inner = expand * d_model into whole heads.
void checkHeads(const ConfigReader& r, const ModelConfig& c, const char* headDimKey, const char* expandKey,
                const char* modelKey) {
    const int64_t dInner = c.expand * c.dModel;  // both <= 2^24: no overflow
    if (dInner % c.headDim != 0)
        r.fail(headDimKey, fmt::format("= {} does not divide {} * {} = {} (the inner width must split into whole heads)",
                                       c.headDim, expandKey, modelKey, dInner));
}

}  // namespace

ModelConfig fromHfMamba2(const json& j, const std::string& file) {
    ConfigReader r(j, file);
    ModelConfig c;
    c.arch = Architecture::Mamba2;
    c.dModel = bounded(r, "hidden_size", std::nullopt);
    c.nLayer = bounded(r, "num_hidden_layers", std::nullopt);
    c.vocabSize = bounded(r, "vocab_size", std::nullopt);
    c.dState = bounded(r, "state_size", 128);
    c.dConv = bounded(r, "conv_kernel", 4);
    c.expand = bounded(r, "expand", 2);
    c.headDim = bounded(r, "head_dim", 64);
    c.nGroups = bounded(r, "n_groups", 8);  // transformers' default (Mamba-Codestral's), as from_pretrained reads it
    c.chunkSize = bounded(r, "chunk_size", 256);
    if (r.has("intermediate_size") && r.integer("intermediate_size", 0) != c.expand * c.dModel)
        r.fail("intermediate_size", fmt::format("= {} but expand * hidden_size = {}", r.integer("intermediate_size", 0),
                                                c.expand * c.dModel));
    checkHeads(r, c, "head_dim", "expand", "hidden_size");
    if (r.has("num_heads")) {
        const int64_t numHeads = r.integer("num_heads", 0);
        if (numHeads != heads(c))
            r.fail("num_heads", fmt::format("= {} but expand * hidden_size / head_dim = {} * {} / {} = {}", numHeads, c.expand,
                                            c.dModel, c.headDim, heads(c)));
    }
    if (heads(c) % c.nGroups != 0)
        r.fail("n_groups", fmt::format("= {} does not divide num_heads = {}", c.nGroups, heads(c)));
    c.projBias = r.boolean("use_bias", false);
    c.convBias = r.boolean("use_conv_bias", true);
    c.normEps = r.number("layer_norm_epsilon", 1e-5);
    c.tieEmbeddings = r.boolean("tie_word_embeddings", false);
    c.padVocabMultiple = bounded(r, "pad_vocab_size_multiple", 16);
    c.initStd = r.number("initializer_range", 0.1);
    c.dtMin = r.number("time_step_min", 1e-3);
    c.dtMax = r.number("time_step_max", 0.1);
    c.dtInitFloor = r.number("time_step_floor", 1e-4);
    const std::string act = r.string("hidden_act", std::string("silu"));
    if (act != "silu" && act != "swish") r.fail("hidden_act", fmt::format("'{}' is not supported (only silu)", act));
    if (!r.boolean("rms_norm", true))
        r.fail("rms_norm", "= false is not supported: the studio's Mamba-2 always has the gated RMSNorm");
    if (r.boolean("norm_before_gate", false))
        r.fail("norm_before_gate", "= true is not supported (Mamba-2 as published gates before the norm)");
    r.boolean("residual_in_fp32", true);  // type check only: the residual is always fp32
    requireNoDtLimit(r, "time_step_limit");
    return c;
}

void readStateSpacesMamba2(const ConfigReader& s, ModelConfig& c) {
    c.arch = Architecture::Mamba2;
    c.dState = bounded(s, "d_state", 128);
    c.dConv = bounded(s, "d_conv", 4);
    c.expand = bounded(s, "expand", 2);
    c.headDim = bounded(s, "headdim", 64);
    c.nGroups = bounded(s, "ngroups", 1);
    c.chunkSize = bounded(s, "chunk_size", 256);
    if (c.dModel > kMaxDim) s.fail("expand", "is applied to an implausibly large d_model");
    checkHeads(s, c, "headdim", "expand", "d_model");
    if (heads(c) % c.nGroups != 0)
        s.fail("ngroups", fmt::format("= {} does not divide the {} heads (expand * d_model / headdim)", c.nGroups, heads(c)));
    if (s.has("d_ssm") && s.integer("d_ssm", 0) != c.expand * c.dModel)
        s.fail("d_ssm", fmt::format("= {} is not supported: the SSM must span d_inner = {} (no gated-MLP part)",
                                    s.integer("d_ssm", 0), c.expand * c.dModel));
    c.dtMin = s.number("dt_min", 1e-3);
    c.dtMax = s.number("dt_max", 0.1);
    c.dtInitFloor = s.number("dt_init_floor", 1e-4);
    c.projBias = s.boolean("bias", false);
    c.convBias = s.boolean("conv_bias", true);
    if (!s.boolean("rmsnorm", true))
        s.fail("rmsnorm", "= false is not supported: the studio's Mamba-2 always has the gated RMSNorm");
    if (s.boolean("norm_before_gate", false))
        s.fail("norm_before_gate", "= true is not supported (Mamba-2 as published gates before the norm)");
    if (s.boolean("D_has_hdim", false)) s.fail("D_has_hdim", "= true is not supported (D is one value per head)");
    requireNoDtLimit(s, "dt_limit");
    s.range("A_init_range", {1.0, 16.0});  // initialisation only; type check
    if (s.has("conv_init")) s.number("conv_init", 0.0);
    if (s.has("use_mem_eff_path")) s.boolean("use_mem_eff_path", true);
}

}  // namespace detail

nlohmann::json toHfMamba2Config(const ModelConfig& c, const SpecialIds& ids) {
    if (c.arch != Architecture::Mamba2)
        throw ConfigError("arch: a Hugging Face Mamba2 config needs a Mamba-2 model");
    nlohmann::json j;
    j["architectures"] = {"Mamba2ForCausalLM"};
    j["model_type"] = "mamba2";
    j["hidden_size"] = c.dModel;
    j["num_hidden_layers"] = c.nLayer;
    // from_pretrained sizes the embedding from vocab_size: the padded row count.
    j["vocab_size"] = c.paddedVocab();
    j["pad_vocab_size_multiple"] = c.padVocabMultiple;
    j["state_size"] = c.dState;
    j["expand"] = c.expand;
    j["intermediate_size"] = c.dInner();  // not a Mamba2Config key; llama.cpp's converter reads it
    j["head_dim"] = c.headDim;
    j["num_heads"] = c.dInner() / c.headDim;
    j["n_groups"] = c.nGroups;
    j["conv_kernel"] = c.dConv;
    j["chunk_size"] = c.chunkSize;
    j["use_bias"] = c.projBias;
    j["use_conv_bias"] = c.convBias;
    j["hidden_act"] = "silu";
    j["layer_norm_epsilon"] = c.normEps;
    j["initializer_range"] = c.initStd;
    j["rms_norm"] = true;
    j["norm_before_gate"] = false;  // mamba_ssm's flag; transformers' Mamba2 always gates first
    j["residual_in_fp32"] = true;
    j["rescale_prenorm_residual"] = false;
    j["time_step_min"] = c.dtMin;
    j["time_step_max"] = c.dtMax;
    j["time_step_floor"] = c.dtInitFloor;
    // time_step_limit is left out: its default (0.0, inf) is what the model computes, and
    // standard JSON cannot hold inf (Python would write the non-standard Infinity).
    j["tie_word_embeddings"] = c.tieEmbeddings;
    j["use_cache"] = true;
    j["torch_dtype"] = "float32";
    const auto eos = ids.eos;
    if (auto v = ids.bos ? ids.bos : eos) j["bos_token_id"] = *v;
    if (eos) j["eos_token_id"] = *eos;
    if (auto v = ids.pad ? ids.pad : eos) j["pad_token_id"] = *v;
    return j;
}

}  // namespace mts
