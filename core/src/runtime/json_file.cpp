#include "runtime/json_file.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "mts/core/runtime/errors.h"

namespace mts::detail {

int jsonNestingDepth(std::string_view text, int limit) {
    int depth = 0;
    int deepest = 0;
    bool inString = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (inString) {
            if (c == '\\')
                ++i;  // skip the escaped character (a quote or a backslash)
            else if (c == '"')
                inString = false;
            continue;
        }
        switch (c) {
            case '"': inString = true; break;
            case '[':
            case '{':
                if (++depth > deepest) {
                    deepest = depth;
                    if (deepest > limit) return limit + 1;
                }
                break;
            case ']':
            case '}':
                if (depth > 0) --depth;
                break;
            default: break;
        }
    }
    return deepest;
}

nlohmann::json parseJsonText(std::string_view text, const std::string& file, const std::string& what,
                             const nlohmann::json::parser_callback_t& callback) {
    if (jsonNestingDepth(text, kMaxJsonDepth) > kMaxJsonDepth)
        throw FormatError(file, fmt::format("{} nests deeper than {} levels (refused)", what, kMaxJsonDepth));
    try {
        return nlohmann::json::parse(text.begin(), text.end(), callback);
    } catch (const nlohmann::json::exception& e) {
        throw FormatError(file, fmt::format("{} is not valid JSON ({})", what, e.what()));
    }
}

std::optional<nlohmann::json> tryParseJson(std::string_view text) {
    if (jsonNestingDepth(text, kMaxJsonDepth) > kMaxJsonDepth) return std::nullopt;
    nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return std::nullopt;
    return j;
}

std::optional<std::string> readSmallFile(const std::filesystem::path& path, uint64_t maxBytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > maxBytes) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (text.size() > maxBytes) return std::nullopt;
    return text;
}

nlohmann::json readJsonFile(const std::filesystem::path& path, const std::string& what, uint64_t maxBytes) {
    const std::string file = path.string();
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FormatError(file, "cannot open " + what);
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > maxBytes) throw FormatError(file, fmt::format("{} is larger than {} bytes", what, maxBytes));
    std::stringstream ss;
    ss << in.rdbuf();
    return parseJsonText(ss.str(), file, what);
}

}  // namespace mts::detail
