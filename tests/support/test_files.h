#pragma once
// Small file helpers the test suites share (header-only; every function is inline).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mts::test {

/// The whole file as bytes; "" when it cannot be opened.
inline std::string readFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Writes `bytes` to `p` (replacing it), creating its parent folders.
inline void writeFile(const std::filesystem::path& p, const std::string& bytes) {
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

/// The file parsed as JSON (throws nlohmann's parse_error when it is not).
inline nlohmann::json readJson(const std::filesystem::path& p) { return nlohmann::json::parse(readFile(p)); }

/// `j` written to `p`, indented by 2.
inline void writeJson(const std::filesystem::path& p, const nlohmann::json& j) { writeFile(p, j.dump(2)); }

/// The lines of `text`, without their '\n'.
inline std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

}  // namespace mts::test
