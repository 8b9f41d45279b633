#pragma once
// The representative train/validation split (CorpusSplit::Chunks), as a plan over documents
// already tokenized: which token ranges of each document go to val.
//
// Each document is cut into chunks of about `chunkTokens` (the last one of a document between
// half and one and a half of that), so a long text lends val many pieces from all along it and
// a short file is one chunk. Chunks are grouped by content (the document's token hash and the
// chunk's index), so identical documents land on the same side: the same text is never in
// both. Every kind of source gets its share of the target (target x its tokens / all tokens),
// filled from its groups in an order drawn from the seed; a kind of two or more groups always
// lends val at least one. The target is max(valFraction x tokens, min(minValTokens, tokens/2)),
// and chunkTokens = clamp(target / 64, 32, 2048), so val holds about 64 chunks or more.
#include <cstdint>
#include <string>
#include <vector>

namespace mts::detail {

struct SplitDocument {
    uint64_t tokens = 0;       // including its end-of-document id
    uint64_t contentHash = 0;  // of its token ids
    std::string kind;
};

/// One maximal run of consecutive chunks of a document on one side.
struct SplitPiece {
    size_t document = 0;  // index into the documents given
    uint64_t begin = 0;   // token offset within the document
    uint64_t tokens = 0;
    bool val = false;
};

struct SplitPlan {
    uint64_t chunkTokens = 0;
    uint64_t targetValTokens = 0;
    std::vector<SplitPiece> pieces;  // in document order, then offset order; cover every token once
};

/// Deterministic in (documents, valFraction, minValTokens, seed).
SplitPlan planChunkSplit(const std::vector<SplitDocument>& documents, double valFraction, uint64_t minValTokens,
                         uint64_t seed);

}  // namespace mts::detail
