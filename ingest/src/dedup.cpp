#include "mts/ingest/dedup.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include <xxhash.h>

namespace mts::ingest {

bool ExactDedup::seen(std::string_view text) {
    XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
    return !m_seen.insert(Hash128{h.low64, h.high64}).second;
}

std::vector<uint32_t> NearDedup::signature(std::string_view text) {
    // Word boundaries: ASCII whitespace; good enough for shingling any script.
    std::vector<uint64_t> wordHashes;
    size_t i = 0, n = text.size();
    while (i < n) {
        while (i < n && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        size_t s = i;
        while (i < n && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        if (i > s) wordHashes.push_back(XXH3_64bits(text.data() + s, i - s));
    }
    std::vector<uint32_t> sig(kPerms, std::numeric_limits<uint32_t>::max());
    const size_t k = 5;
    auto addShingle = [&](uint64_t h) {
        for (int p = 0; p < kPerms; ++p) {
            // Cheap independent permutations: multiply-xorshift with per-permutation constants.
            uint64_t x = (h ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(p + 1))) * 0xBF58476D1CE4E5B9ull;
            x ^= x >> 31;
            sig[p] = std::min(sig[p], static_cast<uint32_t>(x >> 32));
        }
    };
    if (wordHashes.size() < k) {
        addShingle(XXH3_64bits(wordHashes.data(), wordHashes.size() * sizeof(uint64_t)));
    } else {
        for (size_t w = 0; w + k <= wordHashes.size(); ++w)
            addShingle(XXH3_64bits(&wordHashes[w], k * sizeof(uint64_t)));
    }
    return sig;
}

double NearDedup::similarity(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
    size_t same = 0;
    for (size_t k = 0; k < a.size() && k < b.size(); ++k) same += a[k] == b[k];
    return a.empty() ? 0.0 : double(same) / double(a.size());
}

bool NearDedup::seen(std::string_view text) {
    std::vector<uint32_t> sig = signature(text);
    constexpr int rows = kPerms / kBands;
    std::vector<uint64_t> bandKeys(kBands);
    for (int b = 0; b < kBands; ++b)
        bandKeys[b] = XXH3_64bits_withSeed(&sig[b * rows], rows * sizeof(uint32_t), static_cast<uint64_t>(b));
    for (int b = 0; b < kBands; ++b) {
        auto it = m_buckets.find(bandKeys[b]);
        if (it == m_buckets.end()) continue;
        for (uint32_t id : it->second)
            if (similarity(sig, m_signatures[id]) >= m_threshold) return true;
    }
    auto id = static_cast<uint32_t>(m_signatures.size());
    m_signatures.push_back(std::move(sig));
    for (int b = 0; b < kBands; ++b) m_buckets[bandKeys[b]].push_back(id);
    return false;
}

}  // namespace mts::ingest
