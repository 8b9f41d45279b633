#include "runtime/fd_io.h"

#include <cerrno>
#include <cstring>

#include <unistd.h>

#include <fmt/format.h>

#include "mts/core/runtime/errors.h"

namespace mts::detail {

void writeAll(int fd, const void* data, size_t n, const std::string& file) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw FormatError(file, fmt::format("write failed: {}", std::strerror(errno)));
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
}

}  // namespace mts::detail
