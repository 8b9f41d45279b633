#pragma once
// Where a corpus may be written: the guard every front end gets through the corpus builder and
// writer (the studio's rebuild and `mamba-studio-cli ingest --overwrite` alike).
//
// A folder is replaced only when its manifest.json says it is one of our corpora
// ("format": "mts-corpus"), and never when it is, contains or lies inside one of the sources the
// documents are read from. "--out dir/" (trailing separators) names the folder "dir".
#include <filesystem>
#include <vector>

namespace mts {

/// `outDir` without trailing separators ("corpora/x/" -> "corpora/x"; "/" stays "/").
/// Pure path arithmetic; never touches the disk.
std::filesystem::path corpusOutputDir(const std::filesystem::path& outDir);

/// True when `dir` is a real folder (not a symbolic link) whose manifest.json is a JSON object
/// with "format": "mts-corpus". Never throws (an unreadable or hostile manifest is "no").
bool isMtsCorpusFolder(const std::filesystem::path& dir);

/// Checks that a corpus may be written at `outDir` (already passed through corpusOutputDir):
///   - it does not exist, or `overwrite` is set and isMtsCorpusFolder(outDir);
///   - it is not one of `sources`, does not contain one, and does not lie inside one
///     (compared after resolving symbolic links and "..", whether or not the paths exist).
/// Throws ConfigError naming outDir and the reason. Reads only outDir/manifest.json.
/// Threading: any thread.
void checkCorpusOutput(const std::filesystem::path& outDir, bool overwrite,
                       const std::vector<std::filesystem::path>& sources);

}  // namespace mts
