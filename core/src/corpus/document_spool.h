#pragma once
// DocumentSpool: documents written to a temporary file while they are read (and counted for
// BPE), then replayed into the corpus writer, so the sources are read once and memory stays
// bounded however large the corpus (internal to the corpus builder).
//
// File format (native byte order, never kept): per document three fields, source, kind, text,
// each a u64 length followed by its bytes.
//
// Threading: one thread. Failure: std::runtime_error naming the file (disk full included).
// The file is removed when the spool is destroyed.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "mts/core/corpus/corpus_writer.h"

namespace mts::detail {

class DocumentSpool {
public:
    /// Creates (truncates) `file`.
    explicit DocumentSpool(std::filesystem::path file);
    ~DocumentSpool();
    DocumentSpool(const DocumentSpool&) = delete;
    DocumentSpool& operator=(const DocumentSpool&) = delete;

    void write(const CorpusDocument& doc);
    uint64_t documents() const { return m_documents; }

    /// Reads every document back in order; stops early when fn returns false. Returns the
    /// number replayed. Only after the last write().
    uint64_t replay(const std::function<bool(CorpusDocument&&)>& fn);

private:
    std::filesystem::path m_file;
    std::FILE* m_out = nullptr;
    uint64_t m_documents = 0;
};

}  // namespace mts::detail
