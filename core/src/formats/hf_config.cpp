// config.json layouts of published Mamba checkpoints -> ModelConfig, and back to Hugging Face.
#include "mts/core/formats/hf_config.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "formats/config_reader.h"
#include "formats/hf_config_internal.h"
#include "runtime/json_file.h"

#include "mts/core/runtime/errors.h"

namespace mts {
namespace {

using nlohmann::json;

using detail::ConfigReader;

bool activationIsGelu(const std::string& act, const std::string& file) {
    if (act == "silu" || act == "swish") return false;
    if (act == "gelu") return true;
    throw FormatError(file, fmt::format("config.json: activation '{}' is not supported (silu or gelu)", act));
}

ModelConfig fromHf(const json& j, const std::string& file) {
    ConfigReader r(j, file);
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
    ConfigReader r(j, file);
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
    ConfigReader s(r.object("ssm_cfg"), file, "ssm_cfg.");
    const std::string layer = s.string("layer", std::string("Mamba1"));
    if (layer == "Mamba2") {
        detail::readStateSpacesMamba2(s, c);
        return c;
    }
    if (layer != "Mamba1")
        throw FormatError(file, fmt::format("config.json: ssm_cfg.layer '{}' is not supported (Mamba1 or Mamba2)", layer));
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

// model_type "mamba2", or (when a writer left model_type out) Mamba2ForCausalLM in architectures.
bool isHfMamba2(const json& j) {
    if (j.contains("model_type")) return j.at("model_type") == "mamba2";
    if (!j.contains("architectures") || !j.at("architectures").is_array()) return false;
    for (const json& a : j.at("architectures"))
        if (a == "Mamba2ForCausalLM") return true;
    return false;
}

}  // namespace

namespace detail {

std::string quotePythonJsonConstants(const std::string& text) {
    std::string out;
    out.reserve(text.size() + 16);
    bool inString = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        if (inString) {
            out.push_back(ch);
            if (ch == '\\' && i + 1 < text.size()) {
                out.push_back(text[++i]);
            } else if (ch == '"') {
                inString = false;
            }
            continue;
        }
        if (ch == '"') {
            inString = true;
            out.push_back(ch);
            continue;
        }
        bool replaced = false;
        for (const char* word : {"-Infinity", "Infinity", "NaN"}) {
            const size_t n = std::char_traits<char>::length(word);
            if (text.compare(i, n, word) == 0) {
                out += '"';
                out += word;
                out += '"';
                i += n - 1;
                replaced = true;
                break;
            }
        }
        if (!replaced) out.push_back(ch);
    }
    return out;
}

}  // namespace detail

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
        if (isHfMamba2(j)) {
            out.config = detail::fromHfMamba2(j, file);
        } else {
            if (j.contains("model_type") && j.at("model_type") != "mamba")
                throw FormatError(file, fmt::format("config.json: model_type {} is not supported (mamba or mamba2)",
                                                    j.at("model_type").dump()));
            out.config = fromHf(j, file);
        }
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
                           {"context", c.context}, {"head_dim", c.headDim}, {"n_groups", c.nGroups},
                           {"chunk_size", c.chunkSize}}) {
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
    // A config.json is small; anything that cannot be read whole gets readJsonFile's error.
    const std::optional<std::string> text = detail::readSmallFile(configJson, uint64_t(16) << 20);
    if (!text) return parseCheckpointConfig(detail::readJsonFile(configJson, "config.json"), configJson.string());
    return parseCheckpointConfig(
        detail::parseJsonText(detail::quotePythonJsonConstants(*text), configJson.string(), "config.json"),
        configJson.string());
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
