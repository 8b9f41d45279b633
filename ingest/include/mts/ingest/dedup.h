#pragma once
// Duplicate detection over the document stream. Not thread-safe: one instance per job, used
// from the thread that delivers documents.
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace mts::ingest {

/// Exact duplicates by a 128-bit xxHash (XXH3) of the clean text. 16 bytes per document kept.
class ExactDedup {
public:
    /// True when an identical text was seen before; otherwise remembers it and returns false.
    bool seen(std::string_view text);

private:
    struct Hash128 {
        uint64_t lo, hi;
        bool operator==(const Hash128& o) const { return lo == o.lo && hi == o.hi; }
    };
    struct H {
        size_t operator()(const Hash128& h) const { return static_cast<size_t>(h.lo); }
    };
    std::unordered_set<Hash128, H> m_seen;
};

/// Near duplicates by MinHash over word 5-gram shingles with LSH banding
/// (kPerms = 128 hashes in 32 bands of 4 rows). A document is a near duplicate when a
/// candidate from the index has estimated Jaccard similarity >= threshold.
/// Memory: kPerms * 4 bytes + bucket entries per kept document.
class NearDedup {
public:
    static constexpr int kPerms = 128;
    static constexpr int kBands = 32;
    explicit NearDedup(double threshold) : m_threshold(threshold) {}

    /// True when text is a near duplicate of a kept document; otherwise keeps it, false.
    bool seen(std::string_view text);

    /// The MinHash signature (kPerms values) of a text; public for tests.
    static std::vector<uint32_t> signature(std::string_view text);
    static double similarity(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b);

private:
    double m_threshold;
    std::vector<std::vector<uint32_t>> m_signatures;
    std::unordered_map<uint64_t, std::vector<uint32_t>> m_buckets;  // band hash -> doc ids
};

}  // namespace mts::ingest
