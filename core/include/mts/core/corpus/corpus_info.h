#pragma once
// What a corpus folder holds, read from its manifest.json (layout in corpus.h) into plain
// structs: the one reader of the manifest for front ends (the studio's Dataset page shows it;
// it keeps no parser of its own). The writer is CorpusWriter (corpus_writer.h).
//
// The manifest's keys read here: "created", "documents" {total, train, val}, "tokens" {train,
// val}, "text_bytes", "kinds" {<kind>: {documents, bytes, tokens, val_tokens}}, "tokenizer" {kind,
// vocab_size, eos_id}, "split" {by, val_fraction}, "warnings", "sources", "source_commit",
// and from the ingest report a front end stores under "ingest" (mts/ingest/ingest.h toJson):
// "files_ingested", "kinds" {<kind>: {files, documents, bytes}}, "skipped" [{path, reason,
// detail}], "skipped_total", "warnings". Missing keys read as zero / empty (a corpus built from
// plain text files has no "ingest").
//
// Threading: plain functions, any thread. Failure: FormatError naming manifest.json when it
// is missing, not JSON, or not an mts-corpus manifest.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mts {

struct CorpusKindInfo {
    std::string kind;        // "text", "code", "pdf", ...
    uint64_t files = 0;      // files that gave documents of this kind (ingest report)
    uint64_t documents = 0;
    uint64_t bytes = 0;      // clean UTF-8 text bytes
    uint64_t tokens = 0;     // including end-of-document ids
    uint64_t valTokens = 0;  // of `tokens`, those in val.bin (0 in corpora from before the chunk split)
};

struct CorpusSkippedFile {
    std::string path, reason, detail;
};

struct CorpusInfo {
    std::filesystem::path dir;
    std::string created;                     // ISO 8601 UTC
    uint64_t files = 0;                      // files ingested (0 without an ingest report)
    uint64_t documents = 0, trainDocuments = 0, valDocuments = 0;
    uint64_t trainTokens = 0, valTokens = 0;
    uint64_t textBytes = 0;
    std::vector<CorpusKindInfo> kinds;       // sorted by kind
    std::vector<CorpusSkippedFile> skipped;  // as listed (ingest lists the first 20,000)
    uint64_t skippedTotal = 0;               // all skips, listed or not
    std::vector<std::string> warnings;       // the corpus's own (writer, BPE), then ingest's
    std::string tokenizerKind;               // "byte", "bpe", "word"
    int64_t vocabSize = 0;
    int64_t eosId = -1;
    std::string splitBy;                     // "chunks", "document" or "tail"
    double valFraction = 0.0;
    std::vector<std::string> sources;
    std::string sourceCommit;                // git commit of the first repository source, if any
};

/// Reads <dir>/manifest.json (see above). Does not open the token files (openCorpus does).
CorpusInfo readCorpusInfo(const std::filesystem::path& dir);

/// The manifest without the fields that change between two builds of the same input:
/// "created" and "ingest.seconds". Two corpora built from the same documents with the same
/// options have equal stable manifests (and identical train.bin, val.bin, tokenizer.json,
/// documents.jsonl).
nlohmann::json stableManifest(nlohmann::json manifest);

}  // namespace mts
