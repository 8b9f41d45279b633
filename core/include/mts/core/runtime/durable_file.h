#pragma once
// Durable writes of small files (configs, manifests, checkpoint state, run status): what every
// format writer in core uses, so a crash or a full disk never leaves a half-written file under
// its final name. Thread-safe (no shared state); callers serialise writes to the same file.
#include <filesystem>
#include <string>

namespace mts {

/// Writes `content` to `file` durably: a temporary file beside it, fsync, rename, fsync of
/// the folder. Throws std::runtime_error naming the file and the OS reason (ENOSPC included).
/// After the rename, `file`.tmp-<pid> files left beside it by writers that were killed (their
/// pid is gone) are removed; nothing else is touched.
void writeFileAtomic(const std::filesystem::path& file, const std::string& content);
/// fsync of a file or folder; throws std::runtime_error on failure.
void fsyncPath(const std::filesystem::path& path);

}  // namespace mts
