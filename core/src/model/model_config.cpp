#include "mts/core/model/model_config.h"

#include <cmath>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "mts/core/model/architectures.h"
#include "mts/core/model/parameter_count.h"
#include "mts/core/runtime/errors.h"

namespace mts {

std::string toString(Architecture a) {
    for (const ArchitectureInfo& info : architectureList())
        if (info.arch == a) return info.id;
    return "unknown";
}

Architecture architectureFromString(const std::string& s) {
    std::string expected;
    for (const ArchitectureInfo& info : architectureList()) {
        if (info.id == s) return info.arch;
        expected += (expected.empty() ? "" : ", ") + info.id;
    }
    throw ConfigError("arch: unknown architecture '" + s + "' (expected one of: " + expected + ")");
}

namespace {

void requirePositive(int64_t v, const char* key) {
    if (v <= 0) throw ConfigError(std::string(key) + ": must be > 0, got " + std::to_string(v));
}

void requirePositive(double v, const char* key) {
    if (!(v > 0.0) || !std::isfinite(v))
        throw ConfigError(std::string(key) + ": must be a finite value > 0, got " + std::to_string(v));
}

void validateMamba2(const ModelConfig& c) {
    requirePositive(c.headDim, "head_dim");
    requirePositive(c.nGroups, "n_groups");
    requirePositive(c.chunkSize, "chunk_size");
    if (c.dConv > 16) throw ConfigError("d_conv: must be <= 16 for mamba2, got " + std::to_string(c.dConv));
    int64_t dInner = 0;
    if (__builtin_mul_overflow(c.expand, c.dModel, &dInner)) return;  // the parameter count refuses it
    if (dInner % c.headDim != 0)
        throw ConfigError("head_dim: must divide d_inner = expand x d_model (" + std::to_string(dInner) + " % " +
                          std::to_string(c.headDim) + " != 0)");
    const int64_t heads = dInner / c.headDim;
    if (heads % c.nGroups != 0)
        throw ConfigError("n_groups: must divide the head count d_inner / head_dim (" + std::to_string(heads) + " % " +
                          std::to_string(c.nGroups) + " != 0)");
}

}  // namespace

void ModelConfig::validate() const {
    requirePositive(dModel, "d_model");
    requirePositive(vocabSize, "vocab_size");
    requirePositive(padVocabMultiple, "pad_vocab_multiple");
    requirePositive(normEps, "norm_eps");
    requirePositive(initStd, "init_std");
    if (!(dropout >= 0.0 && dropout < 1.0))
        throw ConfigError("dropout: must be in [0, 1), got " + std::to_string(dropout));

    switch (arch) {
        case Architecture::Mamba:
        case Architecture::Mamba2:
            requirePositive(nLayer, "n_layer");
            requirePositive(dState, "d_state");
            requirePositive(dConv, "d_conv");
            requirePositive(expand, "expand");
            if (dtRank < 0) throw ConfigError("dt_rank: must be >= 0 (0 = auto), got " + std::to_string(dtRank));
            requirePositive(dtMin, "dt_min");
            requirePositive(dtMax, "dt_max");
            if (dtMin > dtMax)
                throw ConfigError("dt_min: must be <= dt_max (" + std::to_string(dtMin) + " > " +
                                  std::to_string(dtMax) + ")");
            if (!(dtInitFloor >= 0.0)) throw ConfigError("dt_init_floor: must be >= 0");
            requirePositive(dtScale, "dt_scale");
            if (arch == Architecture::Mamba2) validateMamba2(*this);
            break;
        case Architecture::Transformer:
        case Architecture::Attention1:
        case Architecture::Moe:
            if (arch != Architecture::Attention1) requirePositive(nLayer, "n_layer");
            if (arch == Architecture::Moe) {
                requirePositive(nExperts, "n_experts");
                if (expertsPerToken < 1 || expertsPerToken > nExperts)
                    throw ConfigError("experts_per_token: must be in [1, n_experts = " + std::to_string(nExperts) +
                                      "], got " + std::to_string(expertsPerToken));
                if (!(auxLossWeight >= 0.0) || !std::isfinite(auxLossWeight))
                    throw ConfigError("aux_loss_weight: must be a finite value >= 0, got " +
                                      std::to_string(auxLossWeight));
            }
            requirePositive(nHead, "n_head");
            if (dModel % nHead != 0)
                throw ConfigError("n_head: must divide d_model (" + std::to_string(dModel) + " % " +
                                  std::to_string(nHead) + " != 0)");
            requirePositive(mlpRatio, "mlp_ratio");
            requirePositive(maxSeqLen, "max_seq_len");
            if (positions != "learned" && positions != "rope")
                throw ConfigError("positions: unknown kind '" + positions + "' (expected learned or rope)");
            if (positions == "rope") {
                requirePositive(ropeTheta, "rope_theta");
                if ((dModel / nHead) % 2 != 0)
                    throw ConfigError("positions: rope needs an even head dimension (d_model / n_head = " +
                                      std::to_string(dModel / nHead) + ")");
            }
            break;
        case Architecture::Linear:
            requirePositive(context, "context");
            break;
    }
    // Sizes whose products overflow (expand x d_model, vocab x d_model, ...) describe a model
    // that could never be allocated; refuse them here, before any code multiplies them.
    if (!checkedParameterCount(*this))
        throw ConfigError("d_model: the sizes imply more than 2^63 parameters (d_model " + std::to_string(dModel) +
                          ", n_layer " + std::to_string(nLayer) + ", expand " + std::to_string(expand) +
                          ", vocab_size " + std::to_string(vocabSize) + ")");
}

namespace {

// One table drives both directions so a new field cannot be serialised but not parsed.
struct Field {
    std::function<nlohmann::json(const ModelConfig&)> get;
    std::function<void(ModelConfig&, const nlohmann::json&, const std::string&)> set;
};

template <typename T>
Field intField(T ModelConfig::*m) {
    return {[m](const ModelConfig& c) { return nlohmann::json(c.*m); },
            [m](ModelConfig& c, const nlohmann::json& v, const std::string& key) {
                if (!v.is_number_integer()) throw ConfigError(key + ": expected an integer, got " + v.dump());
                c.*m = v.get<T>();
            }};
}

Field doubleField(double ModelConfig::*m) {
    return {[m](const ModelConfig& c) { return nlohmann::json(c.*m); },
            [m](ModelConfig& c, const nlohmann::json& v, const std::string& key) {
                if (!v.is_number()) throw ConfigError(key + ": expected a number, got " + v.dump());
                c.*m = v.get<double>();
            }};
}

Field boolField(bool ModelConfig::*m) {
    return {[m](const ModelConfig& c) { return nlohmann::json(c.*m); },
            [m](ModelConfig& c, const nlohmann::json& v, const std::string& key) {
                if (!v.is_boolean()) throw ConfigError(key + ": expected true or false, got " + v.dump());
                c.*m = v.get<bool>();
            }};
}

Field stringField(std::string ModelConfig::*m) {
    return {[m](const ModelConfig& c) { return nlohmann::json(c.*m); },
            [m](ModelConfig& c, const nlohmann::json& v, const std::string& key) {
                if (!v.is_string()) throw ConfigError(key + ": expected a string, got " + v.dump());
                c.*m = v.get<std::string>();
            }};
}

const std::map<std::string, Field>& fields() {
    static const std::map<std::string, Field> table = {
        {"arch",
         {[](const ModelConfig& c) { return nlohmann::json(toString(c.arch)); },
          [](ModelConfig& c, const nlohmann::json& v, const std::string& key) {
              if (!v.is_string()) throw ConfigError(key + ": expected a string, got " + v.dump());
              c.arch = architectureFromString(v.get<std::string>());
          }}},
        {"d_model", intField(&ModelConfig::dModel)},
        {"n_layer", intField(&ModelConfig::nLayer)},
        {"vocab_size", intField(&ModelConfig::vocabSize)},
        {"pad_vocab_multiple", intField(&ModelConfig::padVocabMultiple)},
        {"norm_eps", doubleField(&ModelConfig::normEps)},
        {"tie_embeddings", boolField(&ModelConfig::tieEmbeddings)},
        {"init_std", doubleField(&ModelConfig::initStd)},
        {"d_state", intField(&ModelConfig::dState)},
        {"d_conv", intField(&ModelConfig::dConv)},
        {"expand", intField(&ModelConfig::expand)},
        {"dt_rank", intField(&ModelConfig::dtRank)},
        {"conv_bias", boolField(&ModelConfig::convBias)},
        {"proj_bias", boolField(&ModelConfig::projBias)},
        {"dt_min", doubleField(&ModelConfig::dtMin)},
        {"dt_max", doubleField(&ModelConfig::dtMax)},
        {"dt_init_floor", doubleField(&ModelConfig::dtInitFloor)},
        {"dt_scale", doubleField(&ModelConfig::dtScale)},
        {"residual_gate", boolField(&ModelConfig::residualGate)},
        {"block_layer_norm", boolField(&ModelConfig::blockLayerNorm)},
        {"dropout", doubleField(&ModelConfig::dropout)},
        {"gelu", boolField(&ModelConfig::gelu)},
        {"n_head", intField(&ModelConfig::nHead)},
        {"mlp_ratio", intField(&ModelConfig::mlpRatio)},
        {"max_seq_len", intField(&ModelConfig::maxSeqLen)},
        {"positions", stringField(&ModelConfig::positions)},
        {"rope_theta", doubleField(&ModelConfig::ropeTheta)},
        {"context", intField(&ModelConfig::context)},
        {"n_experts", intField(&ModelConfig::nExperts)},
        {"experts_per_token", intField(&ModelConfig::expertsPerToken)},
        {"aux_loss_weight", doubleField(&ModelConfig::auxLossWeight)},
        {"head_dim", intField(&ModelConfig::headDim)},
        {"n_groups", intField(&ModelConfig::nGroups)},
        {"chunk_size", intField(&ModelConfig::chunkSize)},
    };
    return table;
}

}  // namespace

nlohmann::json ModelConfig::toJson() const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [key, field] : fields()) j[key] = field.get(*this);
    return j;
}

ModelConfig ModelConfig::fromJson(const nlohmann::json& j) {
    if (!j.is_object()) throw ConfigError("model config: expected a JSON object, got " + j.dump());
    ModelConfig c;
    const auto& table = fields();
    for (const auto& [key, value] : j.items()) {
        auto it = table.find(key);
        if (it == table.end()) throw ConfigError(key + ": unknown model config key");
        it->second.set(c, value, key);
    }
    if (c.arch == Architecture::Mamba2 && !j.contains("d_state")) c.dState = 128;  // mamba_ssm's Mamba-2 default
    c.validate();
    return c;
}

}  // namespace mts
