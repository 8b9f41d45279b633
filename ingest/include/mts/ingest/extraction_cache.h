#pragma once
// Re-ingest cache: the extracted text of expensive files (PDFs), keyed by the source path and
// checked against size, mtime and a 64-bit content hash (XXH3), so an unchanged file is not
// parsed again and a changed one never returns stale text.
// Layout: <dir>/<xxh64(path) hex>.json = {"path","size","mtime","hash","pages","docs":[...]}.
// Thread-safe: entries are separate files written to a temporary name and renamed.
// Failure: an unreadable or corrupt entry is a miss; a write failure returns false.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mts::ingest {

struct CachedDocument {
    std::string text;
    nlohmann::json meta;
};

class ExtractionCache {
public:
    /// Creates dir when needed; enabled() is false when that fails or dir is empty.
    explicit ExtractionCache(const std::filesystem::path& dir);
    bool enabled() const { return m_enabled; }
    const std::string& error() const { return m_error; }

    std::optional<std::vector<CachedDocument>> lookup(const std::string& key, uint64_t size, int64_t mtime,
                                                      uint64_t contentHash) const;
    bool store(const std::string& key, uint64_t size, int64_t mtime, uint64_t contentHash,
               const std::vector<CachedDocument>& docs) const;

private:
    std::filesystem::path entryPath(const std::string& key) const;
    std::filesystem::path m_dir;
    bool m_enabled = false;
    std::string m_error;
};

}  // namespace mts::ingest
