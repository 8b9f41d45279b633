#include "mts/core/train/run_dir.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mts/core/runtime/durable_file.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/train/checkpoint.h"
#include "runtime/json_file.h"

namespace fs = std::filesystem;

namespace mts {

namespace {

constexpr const char* kLockFile = "run.lock";

// The pid written in a lock file, or "unknown".
std::string lockHolder(int fd) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string s = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s.empty() ? std::string("unknown") : s;
}

// Takes the run folder's lock (see run_dir.h), or throws naming the holder.
std::shared_ptr<const int> lockRunFolder(const fs::path& dir) {
    const fs::path file = dir / kLockFile;
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot create the run lock: {}", file.string(), std::strerror(errno)));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        const std::string holder = lockHolder(fd);
        ::close(fd);
        if (err == EWOULDBLOCK)
            throw ConfigError(fmt::format("{}: in use by another trainer (pid {}); wait for it to finish or stop it "
                                          "first",
                                          dir.string(), holder));
        throw std::runtime_error(fmt::format("{}: cannot lock: {}", file.string(), std::strerror(err)));
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        const int err = errno;
        ::close(fd);
        throw std::runtime_error(fmt::format("{}: cannot write the run lock: {}", file.string(), std::strerror(err)));
    }
    return std::shared_ptr<const int>(new int(fd), [](const int* p) {
        ::close(*p);  // releases the flock
        delete p;
    });
}

}  // namespace

RunDir::RunDir(fs::path p) : m_path(std::move(p)), m_lock(lockRunFolder(m_path)) {}

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
    RunDir run(dir);  // locked: what a killed writer left can be cleaned up now
    sweepCheckpointLeftovers(dir / "checkpoints");
    return run;
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

int64_t RunDir::rewindTo(int64_t step) {
    int64_t dropped = 0;
    for (const char* name : {"metrics.jsonl", "samples.jsonl"}) {
        const fs::path file = m_path / name;
        std::error_code ec;
        if (!fs::exists(file, ec)) continue;
        const auto text = detail::readSmallFile(file, uint64_t(1) << 34);
        if (!text) throw std::runtime_error(file.string() + ": cannot read");
        std::string kept;
        kept.reserve(text->size());
        size_t start = 0;
        bool changed = false;
        while (start < text->size()) {
            const size_t nl = text->find('\n', start);
            if (nl == std::string::npos) {  // a line cut short by the kill
                ++dropped;
                changed = true;
                break;
            }
            const std::string_view line(text->data() + start, nl - start);
            start = nl + 1;
            const auto j = detail::tryParseJson(line);
            if (j && j->is_object()) {
                const auto s = j->find("step");
                if (s != j->end() && s->is_number() && s->get<double>() > static_cast<double>(step)) {
                    ++dropped;
                    changed = true;
                    continue;
                }
            }
            kept.append(line);
            kept += '\n';
        }
        if (changed) writeFileAtomic(file, kept);
    }
    return dropped;
}

void RunDir::appendMetric(const nlohmann::json& line) { append("metrics.jsonl", line); }
void RunDir::appendSample(const nlohmann::json& line) { append("samples.jsonl", line); }

}  // namespace mts
