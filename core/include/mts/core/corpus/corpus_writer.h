#pragma once
// CorpusWriter: turns documents into a token corpus directory (layout in corpus.h).
//
//   mts::CorpusWriterConfig cfg;
//   cfg.outDir = "corpora/my-notes";
//   mts::CorpusWriter writer(cfg, *tokenizer);       // creates corpora/my-notes.tmp-<pid>-XXXXXX
//   for (...) writer.add({source, kind, text});       // streaming, bounded memory
//   mts::CorpusSummary s = writer.finish(extraJson);  // renames the temp dir to outDir
//
// Until finish() returns, outDir does not exist (or still holds the previous corpus when
// overwrite is set): a cancelled or failed ingest never leaves a corpus that looks complete.
// abort() (or destroying an unfinished writer) removes the temporary directory. A process
// killed mid-write leaves it; the next writer or builder in that parent folder removes every
// "*.tmp-<pid>-XXXXXX" there whose <pid> no longer runs.
//
// Split CorpusSplit::Chunks (the default, a representative split): every document is cut into
// chunks of about chunkTokens (a short file is one chunk), and val takes about valFraction of
// the tokens (at least min(minValTokens, half)) from every kind of source in proportion to its
// tokens, chunks picked in an order drawn from the seed; identical documents stay on one side
// (the same text is never in both). At finish the tokens are copied once into their files
// (train.bin is rewritten, so the split needs its size again on disk for a moment). Every
// piece, i.e. a run of a document's consecutive chunks on one side, ends with the
// end-of-document id (added where the document was cut) and is one line of documents.jsonl
// ("part": 1, 2, ... when a document has several pieces). Planning: corpus/chunk_split.h.
// Split CorpusSplit::ByDocument: each document goes to val when
// hash(source, seed) < valFraction (deterministic, by document). If val then holds fewer than
// minValTokens tokens (capped at half of all tokens), the last train documents are moved to
// val; when one document is all there is, its tail is split off (recorded as two parts in
// documents.jsonl).
// Split CorpusSplit::Tail (plain text files, e.g. one long book): every document goes to
// train, then the last max(floor(valFraction x tokens), minValTokens) tokens (at most all of
// them) move to val; the document the cut falls in is recorded as two parts.
// Every document is followed by the tokenizer's end-of-document id in its split.
//
// Threading: one thread calls add()/finish()/abort(); tokenizing runs on `threads` workers.
// Failure: std::runtime_error / FormatError naming the path (I/O, disk full); the writer is
// then aborted.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mts/core/corpus/corpus.h"
#include "mts/core/tokenize/tokenizer.h"

namespace mts {

/// One cleaned document from ingest.
struct CorpusDocument {
    std::string source;  // path (or path#record) it came from; also the split hash key
    std::string kind;    // "text", "code", "pdf", "config", ... (counted per kind in the manifest)
    std::string text;    // UTF-8
};

/// How documents are shared out between train.bin and val.bin (see the file comment).
enum class CorpusSplit {
    Chunks,      ///< representative: chunks from every kind ("by": "chunks" in the manifest)
    ByDocument,  ///< by a hash of each document's source ("by": "document" in the manifest)
    Tail,        ///< the last tokens of the whole stream ("by": "tail")
};

struct CorpusWriterConfig {
    std::filesystem::path outDir;   // the corpus directory to create
    bool overwrite = false;         // replace an existing outDir on finish (else: error up front);
                                    // only an mts corpus is replaced (corpus_output.h)
    /// Files and folders the documents come from: outDir may not be, contain or lie inside one.
    std::vector<std::filesystem::path> sources;
    double valFraction = 0.05;      // share of tokens (Chunks, Tail) or documents (ByDocument) for val, 0..1
    uint64_t minValTokens = 4096;   // val is topped up to this many tokens (<= half of all)
    uint64_t seed = 0;              // split hash seed
    CorpusSplit split = CorpusSplit::Chunks;
    int threads = 0;                // tokenizing threads, 0 = hardware concurrency (max 16)
    size_t batchBytes = 8u << 20;   // text buffered before one parallel tokenizing pass
};

struct CorpusKindStats {
    uint64_t documents = 0;
    uint64_t bytes = 0;
    uint64_t tokens = 0;
    uint64_t valTokens = 0;  // of `tokens`, those in val.bin
};

struct CorpusSummary {
    std::filesystem::path dir;
    uint64_t documents = 0;
    uint64_t trainDocuments = 0;  // whole documents (a split document counts in both)
    uint64_t valDocuments = 0;
    uint64_t trainTokens = 0;     // including end-of-document ids
    uint64_t valTokens = 0;
    uint64_t textBytes = 0;
    uint64_t chunkTokens = 0;     // CorpusSplit::Chunks: the chunk size used (0 otherwise)
    std::map<std::string, CorpusKindStats> kinds;
    std::vector<std::string> warnings;
};

class CorpusWriter {
public:
    /// Creates the temporary directory beside outDir (trailing separators dropped). Throws
    /// ConfigError when checkCorpusOutput refuses outDir (it exists and overwrite is false, it
    /// is not one of our corpora, or it overlaps a source), std::runtime_error when the
    /// tokenizer has no end-of-document id.
    /// `tokenizer` must outlive the writer.
    CorpusWriter(CorpusWriterConfig config, const Tokenizer& tokenizer);
    ~CorpusWriter();
    CorpusWriter(const CorpusWriter&) = delete;
    CorpusWriter& operator=(const CorpusWriter&) = delete;

    /// Queues one document (tokenized in batches). Empty texts are counted and skipped.
    void add(CorpusDocument doc);
    /// Documents and bytes accepted so far (for progress).
    uint64_t documentsAdded() const { return m_docsAdded; }
    uint64_t bytesAdded() const { return m_bytesAdded; }

    /// Adds a line to the corpus warnings (the summary's and the manifest's "warnings"), e.g.
    /// the BPE trainer's. Before finish().
    void addWarning(std::string warning) { m_summary.warnings.push_back(std::move(warning)); }

    /// Writes everything, manifest.json included (`extraManifest`, a JSON object from ingest:
    /// sources, skipped files, commit, settings... is merged in at the top level; the writer's
    /// own keys win), fsyncs, and renames the temporary directory to outDir.
    CorpusSummary finish(const nlohmann::json& extraManifest = nlohmann::json::object());
    /// Removes the temporary directory; the writer is unusable afterwards. Never throws.
    void abort() noexcept;

private:
    struct DocRecord {
        std::string source;
        std::string kind;
        bool val = false;
        uint64_t offset = 0;
        uint64_t tokens = 0;  // including the end-of-document id
        int part = 0;         // 0 = whole; 1, 2, ... = pieces of a document split for val
        uint64_t contentHash = 0;  // of the token ids (Chunks)
    };
    void flushBatch();
    void topUpValidation();
    void splitTail();
    void splitChunks();
    void writeDocumentsIndex(const std::filesystem::path& file) const;

    CorpusWriterConfig m_config;
    const Tokenizer& m_tokenizer;
    int32_t m_eos = 0;
    std::filesystem::path m_tmpDir;
    std::unique_ptr<TokenFileWriter> m_train;
    std::unique_ptr<TokenFileWriter> m_val;
    std::vector<CorpusDocument> m_batch;
    size_t m_batchBytes = 0;
    std::vector<DocRecord> m_docs;
    CorpusSummary m_summary;
    uint64_t m_docsAdded = 0;
    uint64_t m_bytesAdded = 0;
    uint64_t m_emptyDocs = 0;
    bool m_done = false;
    bool m_trainRewritten = false;  // splitChunks() wrote train.split.bin (renamed at finish)
};

}  // namespace mts
