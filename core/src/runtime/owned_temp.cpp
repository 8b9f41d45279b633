#include "runtime/owned_temp.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

namespace mts::detail {

namespace fs = std::filesystem;

namespace {
constexpr const char* kMarker = ".tmp-";
}

fs::path makeOwnedTempDir(const fs::path& parent, const std::string& base) {
    std::string pattern = (parent / fmt::format("{}{}{}-XXXXXX", base, kMarker, ::getpid())).string();
    if (!::mkdtemp(pattern.data()))
        throw std::runtime_error(fmt::format("{}: cannot create a temporary folder: {}", pattern, std::strerror(errno)));
    return fs::path(pattern);
}

pid_t ownedTempOwner(const std::string& name) {
    std::string n = name;
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".old") == 0) n.resize(n.size() - 4);
    // ...<kMarker><digits>-XXXXXX at the very end.
    if (n.size() < 7 || n[n.size() - 7] != '-') return 0;
    const size_t marker = n.rfind(kMarker, n.size() - 7);
    if (marker == std::string::npos) return 0;
    const std::string digits = n.substr(marker + 5, n.size() - 7 - (marker + 5));
    if (digits.empty() || digits.size() > 9) return 0;
    for (char c : digits)
        if (c < '0' || c > '9') return 0;
    return static_cast<pid_t>(std::strtol(digits.c_str(), nullptr, 10));
}

bool processAlive(pid_t pid) {
    if (pid <= 0) return false;
    return ::kill(pid, 0) == 0 || errno != ESRCH;
}

int sweepStaleTempDirs(const fs::path& parent) {
    int removed = 0;
    std::error_code ec;
    for (auto it = fs::directory_iterator(parent, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const pid_t owner = ownedTempOwner(it->path().filename().string());
        if (owner <= 0 || owner == ::getpid() || processAlive(owner)) continue;
        std::error_code rm;
        if (it->is_symlink(rm))
            fs::remove(it->path(), rm);
        else
            fs::remove_all(it->path(), rm);
        if (!rm) ++removed;
    }
    return removed;
}

}  // namespace mts::detail
