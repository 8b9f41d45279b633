#pragma once
// Reading JSON that comes from outside (files, headers, lines) with errors that name the file,
// and with the nesting depth bounded before any recursive code sees the document (internal to
// core: every reader of outside JSON in core goes through here).
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <type_traits>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mts::detail {

/// Deepest nesting of arrays/objects accepted in outside JSON ([[1]] has depth 2).
inline constexpr int kMaxJsonDepth = 64;

/// The nesting depth of `text` (objects and arrays; brackets inside strings do not count),
/// found with one flat scan that stops as soon as `limit` is exceeded (then returns limit + 1).
/// Never recurses; says nothing about whether the text is valid JSON.
int jsonNestingDepth(std::string_view text, int limit = kMaxJsonDepth);

/// Parses `text`. Throws FormatError(file, "<what> nests deeper than 64 levels") before the
/// parser runs, or FormatError(file, "<what> is not valid JSON (<parser message>)").
/// `callback` is handed to nlohmann's parser as is (may be empty).
nlohmann::json parseJsonText(std::string_view text, const std::string& file, const std::string& what,
                             const nlohmann::json::parser_callback_t& callback = nullptr);

/// Parses `text`, or returns nothing when it is not valid JSON or nests deeper than 64 levels
/// (for readers that show damaged files as damaged instead of failing).
std::optional<nlohmann::json> tryParseJson(std::string_view text);

/// Reads the whole file (at most `maxBytes`) and parses it as parseJsonText does. Throws
/// FormatError(file, "cannot open <what>"), FormatError(file, "<what> is larger than N bytes"),
/// or parseJsonText's errors.
nlohmann::json readJsonFile(const std::filesystem::path& path, const std::string& what,
                            uint64_t maxBytes = uint64_t(1) << 30);

/// `v` as a T when T holds it exactly: an integer within T's range, or a float with no fraction
/// within T's range (written by hand as 3.0, or 1e3). Nothing otherwise: a huge number, a
/// fraction, NaN or a non-number is never converted (nlohmann's get<T>() would cast out of range).
template <typename T>
std::optional<T> jsonInteger(const nlohmann::json& v) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    using Lim = std::numeric_limits<T>;
    if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(Lim::max())) return std::nullopt;
        return static_cast<T>(u);
    }
    if (v.is_number_integer()) {
        const int64_t i = v.get<int64_t>();
        if constexpr (std::is_unsigned_v<T>) {
            if (i < 0 || static_cast<uint64_t>(i) > static_cast<uint64_t>(Lim::max())) return std::nullopt;
        } else {
            if (i < static_cast<int64_t>(Lim::min()) || i > static_cast<int64_t>(Lim::max())) return std::nullopt;
        }
        return static_cast<T>(i);
    }
    if (v.is_number_float()) {
        const double d = v.get<double>();
        // Bounds as exact doubles: min is -2^k or 0, max + 1 is 2^k.
        const double lo = static_cast<double>(Lim::min());
        const double hiExclusive = std::ldexp(1.0, Lim::digits);
        if (!std::isfinite(d) || std::floor(d) != d || d < lo || d >= hiExclusive) return std::nullopt;
        return static_cast<T>(d);
    }
    return std::nullopt;
}

/// The whole file as text, or nothing when it cannot be opened or exceeds maxBytes.
std::optional<std::string> readSmallFile(const std::filesystem::path& path, uint64_t maxBytes = uint64_t(1) << 30);

}  // namespace mts::detail
