#pragma once
// Token corpus on disk, the file format between ingest and training:
//
//   <dir>/manifest.json   sources, settings, counts, skipped files, tokenizer, commit, time
//   <dir>/tokenizer.json  the tokenizer (loadTokenizer reads it)
//   <dir>/train.bin       TokenFile
//   <dir>/val.bin         TokenFile
//   <dir>/documents.jsonl one line per document: {"source", "split", "offset", "tokens"}
//
// TokenFile: a 32-byte little-endian header, then `count` tokens of `dtypeBytes` each.
//   magic "MTSTOK\0\0" (8 bytes) | u32 version = 1 | u32 dtypeBytes (2 = uint16, 4 = uint32)
//   | u64 count | u64 reserved = 0
// Documents are separated by the tokenizer's end-of-document id.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mts/core/tokenize/tokenizer.h"

namespace mts {

constexpr char kTokenFileMagic[8] = {'M', 'T', 'S', 'T', 'O', 'K', 0, 0};
constexpr uint32_t kTokenFileVersion = 1;
constexpr size_t kTokenFileHeaderBytes = 32;

/// Read-only, memory-mapped token file. Thread-safe for reads.
/// open() throws FormatError for a bad magic/version/dtype or a size that does not match count.
class TokenFile {
public:
    TokenFile() = default;
    explicit TokenFile(const std::filesystem::path& path);
    ~TokenFile();
    TokenFile(TokenFile&& other) noexcept;
    TokenFile& operator=(TokenFile&& other) noexcept;
    TokenFile(const TokenFile&) = delete;
    TokenFile& operator=(const TokenFile&) = delete;

    bool isOpen() const { return m_data != nullptr || (m_count == 0 && !m_path.empty()); }
    const std::filesystem::path& path() const { return m_path; }
    uint64_t size() const { return m_count; }
    uint32_t dtypeBytes() const { return m_dtypeBytes; }
    /// Token at index i (i < size()).
    uint32_t at(uint64_t i) const;
    /// Copies tokens [start, start + n) into out as int64 (for torch). Requires start + n <= size().
    void read(uint64_t start, uint64_t n, int64_t* out) const;

private:
    std::filesystem::path m_path;
    const uint8_t* m_data = nullptr;  // start of the token payload
    void* m_map = nullptr;
    size_t m_mapBytes = 0;
    uint64_t m_count = 0;
    uint32_t m_dtypeBytes = 2;
};

/// Writes a TokenFile by streaming appends; the header's count is patched in finish().
/// Throws std::runtime_error naming the file on I/O errors (disk full included).
class TokenFileWriter {
public:
    TokenFileWriter(const std::filesystem::path& path, uint32_t dtypeBytes);
    ~TokenFileWriter();
    /// Appends ids; throws std::runtime_error when an id does not fit the dtype.
    void append(const std::vector<int32_t>& ids);
    void append(const int32_t* ids, size_t n);
    uint64_t count() const { return m_count; }
    /// Reads back tokens [start, start + n) already appended (before finish()).
    std::vector<int32_t> readBack(uint64_t start, uint64_t n);
    /// Drops every token from index newCount on (newCount <= count(); before finish()).
    void truncate(uint64_t newCount);
    /// Flushes, writes the final header, fsyncs and closes.
    void finish();
    /// Closes without a valid header (the file then fails TokenFile's size check).
    void close();

private:
    std::filesystem::path m_path;
    void* m_file = nullptr;  // FILE*
    uint32_t m_dtypeBytes;
    uint64_t m_count = 0;
};

/// A corpus directory opened for reading (see the layout at the top of this file).
struct Corpus {
    std::filesystem::path dir;
    TokenFile train;
    TokenFile val;
    std::unique_ptr<Tokenizer> tokenizer;
    nlohmann::json manifest;
};

/// Opens <dir>: manifest.json, tokenizer.json, train.bin, val.bin. Checks that the token counts
/// match the manifest, that the dtype fits the vocabulary and, when verifyIds, that every id
/// is < tokenizer->vocabSize() (one pass over the mapped files). Throws FormatError naming the
/// file and the problem for anything missing or corrupt. Thread-safe (no shared state).
Corpus openCorpus(const std::filesystem::path& dir, bool verifyIds = true);

}  // namespace mts
