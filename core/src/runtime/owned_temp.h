#pragma once
// Temporary folders that carry their owner's pid in the name, so the ones a killed process left
// behind can be swept at the next start, and only those (internal to core).
//
//   fs::path tmp = makeOwnedTempDir(parent, "my-corpus");  // parent/my-corpus.tmp-<pid>-XXXXXX
//   sweepStaleTempDirs(parent);  // removes *.tmp-<pid>-XXXXXX[.old] whose <pid> is gone
//
// Threading: any thread. Failures: makeOwnedTempDir throws std::runtime_error naming the path;
// the sweep never throws (what it cannot remove stays).
#include <filesystem>
#include <string>
#include <sys/types.h>

namespace mts::detail {

/// Creates parent/<base>.tmp-<our pid>-XXXXXX (mkdtemp: unique, mode 0700) and returns it.
std::filesystem::path makeOwnedTempDir(const std::filesystem::path& parent, const std::string& base);

/// The owner pid in a name made by makeOwnedTempDir (also with a ".old" suffix), or 0 when the
/// name is not one of ours.
pid_t ownedTempOwner(const std::string& name);

/// True while a process with this pid exists (kill(pid, 0) does not say ESRCH).
bool processAlive(pid_t pid);

/// Removes, in `parent`, each entry whose name ownedTempOwner recognises and whose owner is gone
/// (a symbolic link is removed itself, never followed). Our own pid's entries are kept: they
/// may be in use. Returns how many were removed.
int sweepStaleTempDirs(const std::filesystem::path& parent);

}  // namespace mts::detail
