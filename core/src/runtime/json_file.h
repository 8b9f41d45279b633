#pragma once
// Reading a small JSON file with errors that name the file (internal to core).
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace mts::detail {

/// Parses the whole file. Throws FormatError(file, "cannot open <what>") or
/// FormatError(file, "<what> is not valid JSON (<parser message>)").
nlohmann::json readJsonFile(const std::filesystem::path& path, const std::string& what);

}  // namespace mts::detail
