// The shared data folder and the runs folders of earlier versions (see data_dirs.h).
#include "mts/core/train/data_dirs.h"

#include <cstdlib>
#include <string>

#include "mts/core/train/run_dir.h"

namespace fs = std::filesystem;

namespace mts {

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

// A folder holding at least one run folder.
bool holdsRuns(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return false;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code e2;
        if (fs::is_regular_file(it->path() / "config.json", e2) || fs::is_directory(it->path() / "checkpoints", e2))
            return true;
    }
    return false;
}

fs::path normalised(const fs::path& p) {
    std::error_code ec;
    fs::path n = fs::weakly_canonical(p, ec);
    return ec ? p.lexically_normal() : n;
}

}  // namespace

fs::path defaultDataDir() {
    if (const std::string xdg = env("XDG_DATA_HOME"); !xdg.empty()) return fs::path(xdg) / "mamba-studio";
    if (const std::string home = env("HOME"); !home.empty()) return fs::path(home) / ".local" / "share" / "mamba-studio";
    return fs::current_path();
}

fs::path defaultRunsDir() { return defaultDataDir() / "runs"; }

std::vector<fs::path> legacyRunsDirs(const fs::path& current) {
    std::vector<fs::path> candidates;
    const std::string xdg = env("XDG_DATA_HOME");
    const std::string home = env("HOME");
    if (!xdg.empty()) candidates.push_back(fs::path(xdg) / "MambaStudio" / "mamba-studio" / "runs");
    if (!home.empty()) {
        const fs::path share = fs::path(home) / ".local" / "share";
        candidates.push_back(share / "MambaStudio" / "mamba-studio" / "runs");
        candidates.push_back(share / "mamba-studio" / "runs");
        candidates.push_back(fs::path(home) / ".mamba-studio" / "runs");
    }
    std::vector<fs::path> out;
    std::vector<fs::path> seen{normalised(current)};
    for (const fs::path& c : candidates) {
        const fs::path n = normalised(c);
        bool dup = false;
        for (const fs::path& s : seen) dup = dup || s == n;
        if (dup) continue;
        seen.push_back(n);
        if (holdsRuns(c)) out.push_back(c);
    }
    return out;
}

}  // namespace mts
