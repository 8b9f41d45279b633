// Durable small-file writes: temporary file, fsync, rename, fsync of the folder.
#include "mts/core/runtime/durable_file.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "runtime/owned_temp.h"

namespace fs = std::filesystem;

namespace mts {

void fsyncPath(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(path.string() + ": cannot open for fsync: " + std::strerror(errno));
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) throw std::runtime_error(path.string() + ": fsync failed: " + std::strerror(err));
}

namespace {

// Removes `file`.tmp-<pid> siblings (plain files only) whose writer is gone: what a process killed
// between open and rename left behind. Other names, links and live writers' files stay.
void sweepStaleTempFiles(const fs::path& file) {
    const std::string prefix = file.filename().string() + ".tmp-";
    const fs::path parent = file.parent_path().empty() ? fs::path(".") : file.parent_path();
    std::error_code ec;
    for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string digits = name.substr(prefix.size());
        if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
        const pid_t pid = static_cast<pid_t>(std::stol(digits));
        if (pid <= 0 || pid == ::getpid() || detail::processAlive(pid)) continue;
        std::error_code typeError;
        if (!it->is_regular_file(typeError) || it->is_symlink(typeError)) continue;
        ::unlink(it->path().c_str());
    }
}

}  // namespace

void writeFileAtomic(const fs::path& file, const std::string& content) {
    fs::path tmp = file;
    tmp += fmt::format(".tmp-{}", ::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error(file.string() + ": cannot write: " + std::strerror(errno));
    const char* p = content.data();
    size_t left = content.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            throw std::runtime_error(file.string() + ": write failed: " + std::strerror(err));
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw std::runtime_error(file.string() + ": flush failed: " + std::strerror(err));
    }
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw std::runtime_error(file.string() + ": rename failed: " + std::strerror(err));
    }
    fsyncPath(file.parent_path().empty() ? fs::path(".") : file.parent_path());
    sweepStaleTempFiles(file);
}

}  // namespace mts
