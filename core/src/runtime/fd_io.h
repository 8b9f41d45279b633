#pragma once
// Small POSIX file-descriptor helpers shared by the format writers (internal to core).
#include <cstddef>
#include <string>

namespace mts::detail {

/// Writes all n bytes to fd, retrying short writes and EINTR.
/// Throws FormatError(file, "write failed: <reason>") on any other error (disk full included).
void writeAll(int fd, const void* data, size_t n, const std::string& file);

}  // namespace mts::detail
