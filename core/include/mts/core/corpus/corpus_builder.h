#pragma once
// The corpus builder: documents -> a token corpus folder (layout in corpus.h). The one path
// from documents to tokens: the studio's ingest job, `mamba-studio-cli ingest` and training on
// plain .txt files all build their corpora here, so the same documents and options give the
// same corpus byte for byte whichever front end asked.
//
//   mts::CorpusBuildConfig cfg;
//   cfg.outDir = "corpora/my-notes";
//   cfg.tokenizer = "bpe:8192";
//   mts::CorpusDocumentSource source = [&](const mts::CorpusDocumentSink& sink) {
//       for (auto& doc : myDocuments)
//           if (!sink(doc)) break;                    // false: stop (cancelled)
//       return nlohmann::json{{"sources", {"..."}}};  // merged into manifest.json
//   };
//   mts::CorpusBuildResult r = mts::buildCorpus(cfg, source, onProgress, &cancel);
//
// Documents come through a callback, so core never depends on where they come from (ingest
// runs inside the source in the front ends; core never includes ingest). The builder calls the
// source exactly once: one pass over the sources whatever the tokenizer.
//   - "byte", a tokenizer.json, or a given Tokenizer: documents are tokenized as they arrive.
//   - "bpe:VOCAB": each document is counted for the BPE trainer and spooled to a temporary
//     file (in a "<outDir name>.tmp-<pid>-XXXXXX" folder beside outDir, on the same disk as the
//     corpus); the tokenizer is trained, then the spool is replayed into the writer. The
//     trainer's warnings become corpus warnings (prefixed "bpe: "), and the manifest gets a
//     "tokenizer_training" object (vocab_size, merges, bytes_counted, distinct_words, warnings).
// Writing is CorpusWriter's (corpus_writer.h): the split, the atomic finish (outDir appears
// complete or not at all), documents.jsonl and the manifest.
//
// Manifest fields that change between two builds of the same input ("volatile"): "created"
// (the writer's clock) and "ingest.seconds" (the ingest report's wall time); see
// stableManifest() in corpus_info.h. Everything else, and every other file, is identical.
//
// Threading: buildCorpus blocks the calling thread; the source, the sink and the progress
// callback all run on that thread. Tokenizing and BPE counting use their own worker threads.
// Cancel: set *cancel from any thread; the sink then returns false, the BPE trainer stops
// between merges, the replay stops between documents, and the result says cancelled: nothing
// is left on disk (no corpus, no temporary folder, no spool).
// Failure: ConfigError for bad options (checked before the source runs: unknown tokenizer,
// bpe:VOCAB below 257, val fraction outside 0..1, outDir existing without overwrite, outDir
// existing but not one of our corpora, outDir overlapping a source: checkCorpusOutput) and for
// sources that gave no document; FormatError for an unreadable tokenizer file;
// std::runtime_error naming the path for I/O errors (disk full included). An exception thrown
// by the source propagates unchanged. In every failure the temporary files are removed and
// outDir is untouched.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mts/core/corpus/corpus_writer.h"
#include "mts/core/tokenize/bpe_trainer.h"
#include "mts/core/tokenize/tokenizer.h"

namespace mts {

/// Takes one document; returns false when the source should stop (the build was cancelled).
using CorpusDocumentSink = std::function<bool(CorpusDocument doc)>;
/// Feeds every document to the sink, in a deterministic order, then returns a JSON object
/// merged into manifest.json at the top level (sources, ingest report, settings, commit...;
/// the writer's own keys win). Called once, on the builder's thread.
using CorpusDocumentSource = std::function<nlohmann::json(const CorpusDocumentSink& sink)>;

struct CorpusBuildConfig {
    std::filesystem::path outDir;   // the corpus folder to create
    bool overwrite = false;         // replace an existing outDir when the new corpus is complete;
                                    // only a folder that is one of our corpora (corpus_output.h)
    /// The files and folders the source reads: outDir may not be, contain or lie inside one
    /// (checked with the other options, before the source runs). Front ends fill it.
    std::vector<std::filesystem::path> sources;
    /// "byte", "bpe:VOCAB" (trained on these documents; VOCAB >= 257 ids in all), or the path
    /// of a tokenizer.json file or of a folder holding one (or vocab.json + merges.txt).
    std::string tokenizer = "byte";
    /// When set, used as is and `tokenizer` is ignored (fine-tuning: the model's own).
    std::shared_ptr<const Tokenizer> givenTokenizer;
    /// BPE trainer settings for "bpe:VOCAB" (vocabSize comes from the spec; cancel and
    /// progress are the builder's).
    BpeTrainerConfig bpe;
    double valFraction = 0.05;      // share of tokens (of documents, for ByDocument) for val, 0..1
    uint64_t minValTokens = 4096;   // see CorpusWriterConfig
    uint64_t seed = 0;              // split seed
    CorpusSplit split = CorpusSplit::Chunks;  // representative (corpus_writer.h)
    int threads = 0;                // tokenizing threads, 0 = hardware concurrency (max 16)
};

enum class CorpusBuildPhase {
    Reading,            // the source is feeding documents (tokenized at once unless BPE)
    TrainingTokenizer,  // BPE merges being learned
    Writing,            // spooled documents being tokenized and written, then the finish
};

/// "reading", "training BPE", "writing".
const char* phaseName(CorpusBuildPhase phase);

struct CorpusBuildProgress {
    CorpusBuildPhase phase = CorpusBuildPhase::Reading;
    uint64_t documents = 0;       // documents read (Reading) or written (Writing) so far
    uint64_t documentsTotal = 0;  // Writing: all documents; 0 while unknown
    uint64_t bytes = 0;           // UTF-8 text bytes of those documents
    int64_t merges = 0;           // TrainingTokenizer: merges learned ...
    int64_t mergesTotal = 0;      // ... of at most this many
};
/// Called on the builder's thread at each phase change and at most every ~100 ms within one.
using CorpusBuildProgressFn = std::function<void(const CorpusBuildProgress&)>;

struct CorpusBuildResult {
    bool cancelled = false;             // true: nothing was written
    CorpusSummary summary;              // the writer's summary (dir, counts, kinds, warnings)
    std::vector<std::string> warnings;  // = summary.warnings (writer's and BPE trainer's)
    std::string tokenizerKind;          // "byte", "bpe", "word"
    int64_t vocabSize = 0;
    double seconds = 0.0;               // wall time of the whole build
};

/// The vocabulary size a "bpe:VOCAB" tokenizer spec asks for; 0 when `spec` is not one
/// ("byte", a path). Throws ConfigError for a malformed one (no number, VOCAB below 257).
int64_t bpeVocabOfSpec(const std::string& spec);

/// Builds the corpus (see the file comment for the passes, threading and failure rules).
CorpusBuildResult buildCorpus(const CorpusBuildConfig& config, const CorpusDocumentSource& source,
                              const CorpusBuildProgressFn& progress = {}, const std::atomic<bool>* cancel = nullptr);

/// A source over plain text for training on .txt files without ingest (the core-only build):
/// `path` is a file (read as is, whatever its name) or a folder whose .txt files, recursively
/// and sorted by path, are read. One document per file, kind "text", source = the file's path.
/// The bytes are taken as they are (no cleaning). Manifest: {"sources": [path], "text_files": n}.
/// The returned source throws ConfigError for a folder without .txt files and FormatError
/// naming a file that cannot be read.
CorpusDocumentSource textFileSource(const std::filesystem::path& path);

}  // namespace mts
