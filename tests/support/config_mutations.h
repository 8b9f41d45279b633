#pragma once
// configMutations(defaults): for every leaf key of a TrainConfig JSON (nested "model" keys as
// "model.d_model"), the whole config with that one value changed to a different valid value.
// The round-trip tests feed each through a conversion path and check nothing is lost.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace mts::test {

/// A different, still valid value for `key` (enum-like strings get another member).
inline nlohmann::json mutatedValue(const std::string& key, const nlohmann::json& v) {
    if (key == "arch") return "transformer";
    if (key == "positions") return v == "rope" ? "learned" : "rope";
    if (key == "optimizer") return v == "muon" ? "adamw" : "muon";
    if (key == "precision") return v == "bf16" ? "fp32" : "bf16";
    if (key == "device") return v == "cpu" ? "auto" : "cpu";
    if (v.is_boolean()) return !v.get<bool>();
    if (v.is_number_unsigned()) return v.get<uint64_t>() * 2 + 1;
    if (v.is_number_integer()) return v.get<int64_t>() == 0 ? int64_t{1} : v.get<int64_t>() * 2;
    // Halving keeps fractions, probabilities and betas in range; 0 becomes a small positive.
    if (v.is_number_float()) return v.get<double>() == 0.0 ? 0.25 : v.get<double>() * 0.5;
    if (v.is_string()) return v.get<std::string>() + "-edited";
    if (v.is_array()) {
        nlohmann::json a = v;
        if (key == "debug_nan_steps" || (!a.empty() && a.front().is_number())) a.push_back(7);
        else a.push_back("edited");
        return a;
    }
    return v;
}

inline std::vector<std::pair<std::string, nlohmann::json>> configMutations(const nlohmann::json& defaults) {
    std::vector<std::pair<std::string, nlohmann::json>> out;
    for (auto it = defaults.begin(); it != defaults.end(); ++it) {
        if (it.value().is_object()) {
            for (auto inner = it.value().begin(); inner != it.value().end(); ++inner) {
                nlohmann::json changed = defaults;
                changed[it.key()][inner.key()] = mutatedValue(inner.key(), inner.value());
                out.emplace_back(it.key() + "." + inner.key(), changed);
            }
        } else {
            nlohmann::json changed = defaults;
            changed[it.key()] = mutatedValue(it.key(), it.value());
            out.emplace_back(it.key(), changed);
        }
    }
    return out;
}

}  // namespace mts::test
