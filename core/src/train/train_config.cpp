#include "mts/core/train/train_config.h"

#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "mts/core/corpus/corpus_builder.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/runtime/errors.h"
#include "runtime/json_file.h"

namespace mts {

using nlohmann::json;

std::string toString(OptimizerKind k) { return k == OptimizerKind::Muon ? "muon" : "adamw"; }

std::string toString(Precision p) {
    switch (p) {
        case Precision::Bf16: return "bf16";
        case Precision::Fp16: return "fp16";
        default: return "fp32";
    }
}

OptimizerKind optimizerFromString(const std::string& s) {
    if (s == "adamw") return OptimizerKind::AdamW;
    if (s == "muon") return OptimizerKind::Muon;
    throw ConfigError("optimizer: unknown value '" + s + "' (expected adamw or muon)");
}

Precision precisionFromString(const std::string& s) {
    if (s == "fp32") return Precision::Fp32;
    if (s == "bf16") return Precision::Bf16;
    if (s == "fp16") return Precision::Fp16;
    throw ConfigError("precision: unknown value '" + s + "' (expected fp32, bf16 or fp16)");
}

void mergeJson(json& base, const json& overlay) {
    if (!base.is_object() || !overlay.is_object()) {
        base = overlay;
        return;
    }
    for (auto it = overlay.begin(); it != overlay.end(); ++it) {
        if (base.contains(it.key()) && base[it.key()].is_object() && it.value().is_object())
            mergeJson(base[it.key()], it.value());
        else
            base[it.key()] = it.value();
    }
}

void TrainConfig::validate() const {
    model.validate();
    auto positive = [](int64_t v, const char* key) {
        if (v <= 0) throw ConfigError(std::string(key) + ": must be > 0 (got " + std::to_string(v) + ")");
    };
    auto nonNegative = [](double v, const char* key) {
        if (!(v >= 0) || !std::isfinite(v))
            throw ConfigError(std::string(key) + ": must be >= 0 (got " + std::to_string(v) + ")");
    };
    if (data.empty()) throw ConfigError("data: no training data given");
    if (!(valFraction > 0 && valFraction < 0.5)) throw ConfigError("val_fraction: must be in (0, 0.5)");
    if (textTokenizer.empty()) throw ConfigError("text_tokenizer: empty (byte, bpe:VOCAB or a tokenizer.json)");
    try {
        bpeVocabOfSpec(textTokenizer);  // a malformed bpe:VOCAB
    } catch (const ConfigError& e) {
        throw ConfigError(std::string("text_tokenizer: ") + e.what());
    }
    positive(seqLen, "seq_len");
    positive(microBatch, "micro_batch");
    positive(gradAccum, "grad_accum");
    if (maxSteps < 0) throw ConfigError("max_steps: must be >= 0");
    nonNegative(maxMinutes, "max_minutes");
    if (maxSteps == 0 && maxMinutes <= 0)
        throw ConfigError("max_steps: 0 (unlimited) needs max_minutes > 0");
    if (!(lr > 0)) throw ConfigError("lr: must be > 0");
    if (!(muonLr > 0)) throw ConfigError("muon_lr: must be > 0");
    if (!(muonMomentum >= 0 && muonMomentum < 1)) throw ConfigError("muon_momentum: must be in [0, 1)");
    positive(muonNsSteps, "muon_ns_steps");
    if (!(minLrRatio >= 0 && minLrRatio <= 1)) throw ConfigError("min_lr_ratio: must be in [0, 1]");
    if (warmupSteps < 0) throw ConfigError("warmup_steps: must be >= 0");
    nonNegative(weightDecay, "weight_decay");
    if (!(beta1 >= 0 && beta1 < 1)) throw ConfigError("beta1: must be in [0, 1)");
    if (!(beta2 >= 0 && beta2 < 1)) throw ConfigError("beta2: must be in [0, 1)");
    if (!(eps > 0)) throw ConfigError("eps: must be > 0");
    nonNegative(gradClip, "grad_clip");
    if (device != "auto" && device != "cpu" && device != "cuda")
        throw ConfigError("device: unknown value '" + device + "' (expected auto, cpu or cuda)");
    if (threads < 0) throw ConfigError("threads: must be >= 0");
    positive(logEvery, "log_every");
    if (evalEvery < 0) throw ConfigError("eval_every: must be >= 0");
    positive(evalBatches, "eval_batches");
    if (sampleEvery < 0) throw ConfigError("sample_every: must be >= 0");
    if (sampleTokens < 0) throw ConfigError("sample_tokens: must be >= 0");
    nonNegative(sampleTemperature, "sample_temperature");
    if (checkpointEvery < 0) throw ConfigError("checkpoint_every: must be >= 0");
    nonNegative(checkpointMinutes, "checkpoint_minutes");
    positive(keepLast, "keep_last");
    if (earlyStoppingPatience < 0) throw ConfigError("early_stopping_patience: must be >= 0");
    nonNegative(stopAtLoss, "stop_at_loss");
    positive(maxNonFinite, "max_non_finite");
    if (!(fp16InitScale >= 1)) throw ConfigError("fp16_init_scale: must be >= 1");
    positive(fp16GrowthInterval, "fp16_growth_interval");
    if (debugCheckpointDelayMs < 0) throw ConfigError("debug_checkpoint_delay_ms: must be >= 0");
}

namespace {

// The one list of TrainConfig's fields and their JSON keys. toJson() and fromJson() both walk
// it, so a field cannot be written and not read; tests/core/test_train_config.cpp checks that
// every member of the struct is in it (a new member missing here fails that test).
template <class Config, class Visit>
void visitFields(Config& c, Visit&& v) {
    v("model", c.model);
    v("data", c.data);
    v("val_fraction", c.valFraction);
    v("text_tokenizer", c.textTokenizer);
    v("init_from", c.initFrom);
    v("seq_len", c.seqLen);
    v("micro_batch", c.microBatch);
    v("grad_accum", c.gradAccum);
    v("max_steps", c.maxSteps);
    v("max_minutes", c.maxMinutes);
    v("optimizer", c.optimizer);
    v("lr", c.lr);
    v("muon_lr", c.muonLr);
    v("muon_momentum", c.muonMomentum);
    v("muon_ns_steps", c.muonNsSteps);
    v("min_lr_ratio", c.minLrRatio);
    v("warmup_steps", c.warmupSteps);
    v("weight_decay", c.weightDecay);
    v("beta1", c.beta1);
    v("beta2", c.beta2);
    v("eps", c.eps);
    v("grad_clip", c.gradClip);
    v("precision", c.precision);
    v("grad_checkpointing", c.gradCheckpointing);
    v("device", c.device);
    v("threads", c.threads);
    v("log_every", c.logEvery);
    v("eval_every", c.evalEvery);
    v("eval_batches", c.evalBatches);
    v("sample_every", c.sampleEvery);
    v("sample_prompts", c.samplePrompts);
    v("sample_tokens", c.sampleTokens);
    v("sample_temperature", c.sampleTemperature);
    v("checkpoint_every", c.checkpointEvery);
    v("checkpoint_minutes", c.checkpointMinutes);
    v("keep_last", c.keepLast);
    v("keep_best", c.keepBest);
    v("seed", c.seed);
    v("early_stopping_patience", c.earlyStoppingPatience);
    v("stop_at_loss", c.stopAtLoss);
    v("max_non_finite", c.maxNonFinite);
    v("fp16_init_scale", c.fp16InitScale);
    v("fp16_growth_interval", c.fp16GrowthInterval);
    v("debug_nan_steps", c.debugNanSteps);
    v("debug_checkpoint_delay_ms", c.debugCheckpointDelayMs);
}

struct JsonWriter {
    json& j;
    template <typename T>
    void operator()(const char* key, const T& value) { j[key] = value; }
    void operator()(const char* key, const ModelConfig& m) { j[key] = m.toJson(); }
    void operator()(const char* key, OptimizerKind k) { j[key] = toString(k); }
    void operator()(const char* key, Precision p) { j[key] = toString(p); }
};

struct JsonReader {
    const json& j;

    template <typename T>
    void operator()(const char* key, T& out) {
        auto it = j.find(key);
        if (it == j.end()) return;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
            const auto v = detail::jsonInteger<T>(*it);  // get<T>() casts 1e300 out of range (UB)
            if (!v) throw ConfigError(std::string(key) + ": expected an integer in range (" + it->dump() + ")");
            out = *v;
            return;
        }
        try {
            out = it->get<T>();
        } catch (const json::exception&) {
            throw ConfigError(std::string(key) + ": wrong type (" + it->dump() + ")");
        }
    }
    // Integers written as 3.0 by hand (or by --set parsing "1e3") are accepted when exact.
    void operator()(const char* key, int64_t& out) {
        auto it = j.find(key);
        if (it == j.end()) return;
        const auto v = detail::jsonInteger<int64_t>(*it);
        if (!v) throw ConfigError(std::string(key) + ": expected an integer (" + it->dump() + ")");
        out = *v;
    }
    void operator()(const char* key, ModelConfig& m) {
        if (j.contains(key)) m = ModelConfig::fromJson(j.at(key));
    }
    void operator()(const char* key, OptimizerKind& k) {
        std::string s;
        (*this)(key, s);
        if (j.contains(key)) k = optimizerFromString(s);
    }
    void operator()(const char* key, Precision& p) {
        std::string s;
        (*this)(key, s);
        if (j.contains(key)) p = precisionFromString(s);
    }
};

const std::set<std::string>& knownKeys() {
    static const std::set<std::string> keys = [] {
        std::set<std::string> k;
        TrainConfig defaults;
        visitFields(defaults, [&](const char* key, auto&) { k.insert(key); });
        return k;
    }();
    return keys;
}

}  // namespace

json TrainConfig::toJson() const {
    json j = json::object();
    visitFields(*this, JsonWriter{j});
    return j;
}

TrainConfig TrainConfig::fromJson(const json& j) {
    if (!j.is_object()) throw ConfigError("train config: expected a JSON object");
    for (auto& [key, v] : j.items())
        if (!knownKeys().count(key)) throw ConfigError(key + ": unknown training config key");
    TrainConfig c;
    visitFields(c, JsonReader{j});
    return c;
}

void TrainConfig::set(const std::string& assignment) {
    auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        throw ConfigError("--set: expected key=value, got '" + assignment + "'");
    std::string key = assignment.substr(0, eq);
    std::string text = assignment.substr(eq + 1);
    const std::optional<json> parsed = detail::tryParseJson(text);
    json value = parsed ? *parsed : json(text);

    json j = toJson();
    json* node = &j;
    size_t start = 0;
    while (true) {
        auto dot = key.find('.', start);
        std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (!node->is_object() || !node->contains(part))
            throw ConfigError(key + ": unknown training config key");
        node = &(*node)[part];
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    // A string field given a bare number/bool ("data=123") stays a string.
    if (node->is_string() && !value.is_string()) value = text;
    *node = value;
    *this = fromJson(j);
}

}  // namespace mts
