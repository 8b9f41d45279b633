#include "mts/core/train/run_dir.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mts/core/runtime/durable_file.h"
#include "mts/core/runtime/errors.h"

namespace fs = std::filesystem;

namespace mts {

RunDir RunDir::create(const fs::path& runsDir, const std::string& name, const std::string& arch) {
    std::error_code ec;
    fs::create_directories(runsDir, ec);
    if (ec) throw std::runtime_error(runsDir.string() + ": cannot create the runs folder: " + ec.message());
    std::string base = name;
    if (base.empty()) {
        std::time_t t = std::time(nullptr);
        std::tm tm{};
        localtime_r(&t, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
        base = arch + "-" + buf;
    }
    if (base.find('/') != std::string::npos || base == "." || base == "..")
        throw ConfigError("name: '" + base + "' is not a valid run name");
    for (int i = 1; i < 100000; ++i) {
        fs::path candidate = runsDir / (i == 1 ? base : fmt::format("{}-{}", base, i));
        // mkdir fails with EEXIST when another run (or process) took the name first.
        if (::mkdir(candidate.c_str(), 0755) == 0) {
            fs::create_directories(candidate / "checkpoints", ec);
            if (ec) throw std::runtime_error(candidate.string() + ": cannot create checkpoints/: " + ec.message());
            return RunDir(candidate);
        }
        if (errno != EEXIST)
            throw std::runtime_error(candidate.string() + ": cannot create the run folder: " + std::strerror(errno));
    }
    throw std::runtime_error(runsDir.string() + ": no free run name for '" + base + "'");
}

RunDir RunDir::open(const fs::path& dir) {
    if (!fs::is_directory(dir) || !fs::exists(dir / "config.json"))
        throw FormatError(dir.string(), "not a run folder (no config.json)");
    std::error_code ec;
    fs::create_directories(dir / "checkpoints", ec);
    return RunDir(dir);
}

void RunDir::writeConfig(const nlohmann::json& config) const {
    writeFileAtomic(m_path / "config.json", config.dump(2) + "\n");
}

void RunDir::append(const char* file, const nlohmann::json& line) {
    std::ofstream out(m_path / file, std::ios::app);
    out << line.dump() << '\n';
    out.flush();
    if (!out) throw std::runtime_error((m_path / file).string() + ": cannot append (disk full or not writable?)");
}

void RunDir::appendMetric(const nlohmann::json& line) { append("metrics.jsonl", line); }
void RunDir::appendSample(const nlohmann::json& line) { append("samples.jsonl", line); }

}  // namespace mts
