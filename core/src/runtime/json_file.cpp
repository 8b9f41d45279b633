#include "runtime/json_file.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "mts/core/runtime/errors.h"

namespace mts::detail {

nlohmann::json readJsonFile(const std::filesystem::path& path, const std::string& what) {
    const std::string file = path.string();
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FormatError(file, "cannot open " + what);
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::exception& e) {
        throw FormatError(file, fmt::format("{} is not valid JSON ({})", what, e.what()));
    }
}

}  // namespace mts::detail
