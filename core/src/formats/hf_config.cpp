// config.json layouts of published Mamba checkpoints -> ModelConfig, and back to Hugging Face.
#include "mts/core/formats/hf_config.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "runtime/json_file.h"

#include "mts/core/runtime/errors.h"

namespace mts {
namespace {

using nlohmann::json;

// Typed access to a config object: a known key with the wrong type is an error naming the key.
class Reader {
public:
    Reader(const json& j, std::string file, std::string prefix = {})
        : m_j(j), m_file(std::move(file)), m_prefix(std::move(prefix)) {}

    bool has(const char* key) const { return m_j.contains(key) && !m_j.at(key).is_null(); }

    int64_t integer(const char* key, std::optional<int64_t> def) const {
        if (!has(key)) return require(key, def);
        const json& v = m_j.at(key);
        if (v.is_number_integer()) return v.get<int64_t>();
        // Some writers store integers as 16.0.
        if (v.is_number_float()) {
            double d = v.get<double>();
            if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
        }
        throw bad(key, "an integer", v);
    }
    double number(const char* key, std::optional<double> def) const {
        if (!has(key)) return require(key, def);
        const json& v = m_j.at(key);
        if (!v.is_number()) throw bad(key, "a number", v);
        return v.get<double>();
    }
    bool boolean(const char* key, std::optional<bool> def) const {
        if (!has(key)) return require(key, def);
        const json& v = m_j.at(key);
        if (!v.is_boolean()) throw bad(key, "true or false", v);
        return v.get<bool>();
    }
    std::string string(const char* key, std::optional<std::string> def) const {
        if (!has(key)) return require(key, def);
        const json& v = m_j.at(key);
        if (!v.is_string()) throw bad(key, "a string", v);
        return v.get<std::string>();
    }
    // "auto" or a positive integer; 0 stands for auto.
    int64_t rankOrAuto(const char* key) const {
        if (!has(key)) return 0;
        const json& v = m_j.at(key);
        if (v.is_string()) {
            if (v.get<std::string>() == "auto") return 0;
            throw bad(key, "\"auto\" or an integer", v);
        }
        return integer(key, 0);
    }
    const json& object(const char* key) const {
        static const json kEmpty = json::object();
        if (!has(key)) return kEmpty;
        const json& v = m_j.at(key);
        if (!v.is_object()) throw bad(key, "an object", v);
        return v;
    }

private:
    template <class T>
    T require(const char* key, const std::optional<T>& def) const {
        if (!def) throw FormatError(m_file, fmt::format("config.json: missing required key '{}{}'", m_prefix, key));
        return *def;
    }
    FormatError bad(const char* key, const char* expected, const json& v) const {
        std::string shown = v.dump();
        if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
        return FormatError(m_file, fmt::format("config.json: '{}{}' must be {}, got {}", m_prefix, key, expected, shown));
    }
    const json& m_j;
    std::string m_file;
    std::string m_prefix;
};

bool activationIsGelu(const std::string& act, const std::string& file) {
    if (act == "silu" || act == "swish") return false;
    if (act == "gelu") return true;
    throw FormatError(file, fmt::format("config.json: activation '{}' is not supported (silu or gelu)", act));
}

ModelConfig fromHf(const json& j, const std::string& file) {
    Reader r(j, file);
    ModelConfig c;
    c.arch = Architecture::Mamba;
    c.dModel = r.integer("hidden_size", std::nullopt);
    c.nLayer = r.integer("num_hidden_layers", std::nullopt);
    c.vocabSize = r.integer("vocab_size", std::nullopt);
    c.dState = r.integer("state_size", 16);
    c.dConv = r.integer("conv_kernel", 4);
    if (r.has("expand")) {
        c.expand = r.integer("expand", 2);
        if (r.has("intermediate_size") && r.integer("intermediate_size", 0) != c.expand * c.dModel)
            throw FormatError(file, fmt::format("config.json: intermediate_size {} != expand * hidden_size ({})",
                                                r.integer("intermediate_size", 0), c.expand * c.dModel));
    } else if (r.has("intermediate_size")) {
        int64_t inter = r.integer("intermediate_size", 0);
        if (c.dModel <= 0 || inter % c.dModel != 0)
            throw FormatError(file, "config.json: intermediate_size is not a multiple of hidden_size");
        c.expand = inter / c.dModel;
    }
    c.dtRank = r.rankOrAuto("time_step_rank");
    c.projBias = r.boolean("use_bias", false);
    c.convBias = r.boolean("use_conv_bias", true);
    c.normEps = r.number("layer_norm_epsilon", 1e-5);
    c.tieEmbeddings = r.boolean("tie_word_embeddings", true);
    c.padVocabMultiple = r.integer("pad_vocab_size_multiple", 8);
    c.initStd = r.number("initializer_range", 0.1);
    c.dtMin = r.number("time_step_min", 1e-3);
    c.dtMax = r.number("time_step_max", 0.1);
    c.dtInitFloor = r.number("time_step_floor", 1e-4);
    c.dtScale = r.number("time_step_scale", 1.0);
    c.gelu = activationIsGelu(r.string("hidden_act", std::string("silu")), file);
    return c;
}

ModelConfig fromStateSpaces(const json& j, const std::string& file) {
    Reader r(j, file);
    ModelConfig c;
    c.arch = Architecture::Mamba;
    c.dModel = r.integer("d_model", std::nullopt);
    c.nLayer = r.integer("n_layer", std::nullopt);
    c.vocabSize = r.integer("vocab_size", std::nullopt);
    if (r.integer("d_intermediate", 0) != 0)
        throw FormatError(file, "config.json: d_intermediate > 0 (MLP blocks) is not supported");
    if (r.has("attn_layer_idx")) {
        const json& a = j.at("attn_layer_idx");
        if (!a.is_array()) throw FormatError(file, "config.json: 'attn_layer_idx' must be a list");
        if (!a.empty()) throw FormatError(file, "config.json: attention layers (attn_layer_idx) are not supported");
    }
    if (!r.boolean("rms_norm", true))
        throw FormatError(file, "config.json: rms_norm=false (LayerNorm) is not supported; only RMSNorm Mamba models");
    c.padVocabMultiple = r.integer("pad_vocab_size_multiple", 8);
    c.tieEmbeddings = r.boolean("tie_embeddings", true);
    c.normEps = r.number("norm_epsilon", 1e-5);
    r.boolean("residual_in_fp32", true);  // type check only: we always keep the residual in fp32
    r.boolean("fused_add_norm", true);    // a kernel choice, same numbers
    Reader s(r.object("ssm_cfg"), file, "ssm_cfg.");
    const std::string layer = s.string("layer", std::string("Mamba1"));
    if (layer != "Mamba1")
        throw FormatError(file, fmt::format("config.json: ssm_cfg.layer '{}' is not supported (only Mamba1)", layer));
    c.dState = s.integer("d_state", 16);
    c.dConv = s.integer("d_conv", 4);
    c.expand = s.integer("expand", 2);
    c.dtRank = s.rankOrAuto("dt_rank");
    c.dtMin = s.number("dt_min", 1e-3);
    c.dtMax = s.number("dt_max", 0.1);
    c.dtInitFloor = s.number("dt_init_floor", 1e-4);
    c.dtScale = s.number("dt_scale", 1.0);
    c.convBias = s.boolean("conv_bias", true);
    c.projBias = s.boolean("bias", false);
    return c;
}

}  // namespace

CheckpointConfig parseCheckpointConfig(const json& j, const std::string& file) {
    if (!j.is_object()) throw FormatError(file, "config.json is not a JSON object");
    CheckpointConfig out;
    if (j.contains("mts_config")) {
        out.layout = "studio";
        if (!j.at("mts_config").is_object()) throw FormatError(file, "config.json: 'mts_config' must be an object");
        try {
            out.config = ModelConfig::fromJson(j.at("mts_config"));
        } catch (const ConfigError& e) {
            throw FormatError(file, fmt::format("config.json: mts_config: {}", e.what()));
        } catch (const json::exception& e) {
            throw FormatError(file, fmt::format("config.json: mts_config: {}", e.what()));
        }
    } else if (j.contains("hidden_size") || j.contains("num_hidden_layers")) {
        out.layout = "hf";
        if (j.contains("model_type") && j.at("model_type") != "mamba")
            throw FormatError(file, fmt::format("config.json: model_type {} is not supported (only mamba)",
                                                j.at("model_type").dump()));
        out.config = fromHf(j, file);
    } else if (j.contains("d_model") || j.contains("n_layer") || j.contains("ssm_cfg")) {
        out.layout = "state-spaces";
        out.config = fromStateSpaces(j, file);
    } else {
        throw FormatError(file, "config.json is neither a Hugging Face Mamba config (hidden_size, ...), "
                                "a state-spaces config (d_model, n_layer, ssm_cfg) nor a studio config (mts_config)");
    }
    // Bounds before validate(): a fuzzer-sized dimension would otherwise allocate terabytes.
    const ModelConfig& c = out.config;
    const int64_t kMax = int64_t{1} << 24;
    for (auto [name, v] : {std::pair<const char*, int64_t>{"d_model", c.dModel}, {"n_layer", c.nLayer},
                           {"vocab_size", c.vocabSize}, {"d_state", c.dState}, {"d_conv", c.dConv},
                           {"expand", c.expand}, {"dt_rank", c.dtRank}, {"pad_vocab_multiple", c.padVocabMultiple},
                           {"n_head", c.nHead}, {"mlp_ratio", c.mlpRatio}, {"max_seq_len", c.maxSeqLen},
                           {"context", c.context}}) {
        if (v > kMax) throw FormatError(file, fmt::format("config.json: {} = {} is implausibly large", name, v));
    }
    try {
        out.config.validate();
    } catch (const ConfigError& e) {
        throw FormatError(file, fmt::format("config.json: {}", e.what()));
    }
    return out;
}

CheckpointConfig readCheckpointConfig(const std::filesystem::path& configJson) {
    return parseCheckpointConfig(detail::readJsonFile(configJson, "config.json"), configJson.string());
}

json toHfMambaConfig(const ModelConfig& c, const SpecialIds& ids, bool allowVariants) {
    if (c.arch != Architecture::Mamba) throw ConfigError("arch: a Hugging Face Mamba config needs a Mamba model");
    if (!allowVariants && (c.residualGate || c.blockLayerNorm))
        throw ConfigError("residual_gate/block_layer_norm: these variants have no Hugging Face MambaForCausalLM equivalent");
    json j;
    j["architectures"] = {"MambaForCausalLM"};
    j["model_type"] = "mamba";
    j["hidden_size"] = c.dModel;
    j["intermediate_size"] = c.dInner();
    j["num_hidden_layers"] = c.nLayer;
    // from_pretrained sizes the embedding from vocab_size, so it must be the padded row count.
    j["vocab_size"] = c.paddedVocab();
    j["pad_vocab_size_multiple"] = c.padVocabMultiple;
    j["state_size"] = c.dState;
    j["conv_kernel"] = c.dConv;
    j["expand"] = c.expand;
    j["time_step_rank"] = c.resolvedDtRank();
    j["time_step_min"] = c.dtMin;
    j["time_step_max"] = c.dtMax;
    j["time_step_floor"] = c.dtInitFloor;
    j["time_step_scale"] = c.dtScale;
    j["time_step_init_scheme"] = "random";
    j["use_bias"] = c.projBias;
    j["use_conv_bias"] = c.convBias;
    j["hidden_act"] = c.gelu ? "gelu" : "silu";
    j["layer_norm_epsilon"] = c.normEps;
    j["initializer_range"] = c.initStd;
    j["residual_in_fp32"] = true;
    j["rescale_prenorm_residual"] = false;
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
