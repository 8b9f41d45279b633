#pragma once
// Typed access to the keys of a config.json object (internal to formats): a known key with the
// wrong type, or a required key that is missing, is a FormatError naming the file and the key.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mts/core/runtime/errors.h"

namespace mts::detail {

/// The whole text of a config.json with Python's non-standard constants (json.dump writes
/// float('inf') as Infinity: transformers' Mamba-2 configs hold "time_step_limit": [0.0, Infinity])
/// turned into the strings "Infinity", "-Infinity" and "NaN", so a standard parser reads it.
/// Text inside strings is left alone.
std::string quotePythonJsonConstants(const std::string& text);

// Typed access to a config object: a known key with the wrong type is an error naming the key.
class ConfigReader {
public:
    ConfigReader(const nlohmann::json& j, std::string file, std::string prefix = {})
        : m_j(j), m_file(std::move(file)), m_prefix(std::move(prefix)) {}

    bool has(const char* key) const { return m_j.contains(key) && !m_j.at(key).is_null(); }

    int64_t integer(const char* key, std::optional<int64_t> def) const {
        if (!has(key)) return require(key, def);
        const nlohmann::json& v = m_j.at(key);
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
        const nlohmann::json& v = m_j.at(key);
        if (!v.is_number()) throw bad(key, "a number", v);
        return v.get<double>();
    }
    bool boolean(const char* key, std::optional<bool> def) const {
        if (!has(key)) return require(key, def);
        const nlohmann::json& v = m_j.at(key);
        if (!v.is_boolean()) throw bad(key, "true or false", v);
        return v.get<bool>();
    }
    std::string string(const char* key, std::optional<std::string> def) const {
        if (!has(key)) return require(key, def);
        const nlohmann::json& v = m_j.at(key);
        if (!v.is_string()) throw bad(key, "a string", v);
        return v.get<std::string>();
    }
    // "auto" or a positive integer; 0 stands for auto.
    int64_t rankOrAuto(const char* key) const {
        if (!has(key)) return 0;
        const nlohmann::json& v = m_j.at(key);
        if (v.is_string()) {
            if (v.get<std::string>() == "auto") return 0;
            throw bad(key, "\"auto\" or an integer", v);
        }
        return integer(key, 0);
    }
    // A [low, high] pair of numbers (either may be the string "Infinity" / "-Infinity" that
    // quotePythonJsonConstants leaves for Python's constants); `def` when the key is absent.
    std::pair<double, double> range(const char* key, std::pair<double, double> def) const {
        if (!has(key)) return def;
        const nlohmann::json& v = m_j.at(key);
        if (!v.is_array() || v.size() != 2) throw bad(key, "a list of two numbers", v);
        auto one = [&](const nlohmann::json& e) {
            if (e.is_number()) return e.get<double>();
            if (e.is_string() && e.get<std::string>() == "Infinity") return HUGE_VAL;
            if (e.is_string() && e.get<std::string>() == "-Infinity") return -HUGE_VAL;
            throw bad(key, "a list of two numbers", v);
        };
        return {one(v.at(0)), one(v.at(1))};
    }
    // Throws FormatError(file, "config.json: <prefix><key> <problem>").
    [[noreturn]] void fail(const char* key, const std::string& problem) const {
        throw FormatError(m_file, fmt::format("config.json: {}{} {}", m_prefix, key, problem));
    }
    const nlohmann::json& object(const char* key) const {
        static const nlohmann::json kEmpty = nlohmann::json::object();
        if (!has(key)) return kEmpty;
        const nlohmann::json& v = m_j.at(key);
        if (!v.is_object()) throw bad(key, "an object", v);
        return v;
    }

private:
    template <class T>
    T require(const char* key, const std::optional<T>& def) const {
        if (!def) throw FormatError(m_file, fmt::format("config.json: missing required key '{}{}'", m_prefix, key));
        return *def;
    }
    FormatError bad(const char* key, const char* expected, const nlohmann::json& v) const {
        std::string shown = v.dump();
        if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
        return FormatError(m_file, fmt::format("config.json: '{}{}' must be {}, got {}", m_prefix, key, expected, shown));
    }
    const nlohmann::json& m_j;
    std::string m_file;
    std::string m_prefix;
};

}  // namespace mts::detail
