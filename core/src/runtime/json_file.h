#pragma once
// Reading JSON that comes from outside (files, headers, lines) with errors that name the file,
// and with the nesting depth bounded before any recursive code sees the document (internal to
// core: every reader of outside JSON in core goes through here).
#include <filesystem>
#include <optional>
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

/// The whole file as text, or nothing when it cannot be opened or exceeds maxBytes.
std::optional<std::string> readSmallFile(const std::filesystem::path& path, uint64_t maxBytes = uint64_t(1) << 30);

}  // namespace mts::detail
