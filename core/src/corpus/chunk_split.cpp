// The representative split's plan (see chunk_split.h).
#include "corpus/chunk_split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include <xxhash.h>

namespace mts::detail {

namespace {

uint64_t mix(uint64_t a, uint64_t b, uint64_t seed) {
    const uint64_t words[2] = {a, b};
    return XXH64(words, sizeof words, seed);
}

// Chunk boundaries of a document of n tokens: k = max(1, round(n / c)) even chunks.
uint64_t chunkCount(uint64_t n, uint64_t c) {
    return std::max<uint64_t>(1, (n + c / 2) / c);
}

uint64_t chunkBegin(uint64_t n, uint64_t k, uint64_t i) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(n) * i) / k);
}

struct Group {
    uint64_t rank = 0;   // the seed's order
    uint64_t key = 0;    // content: (document hash, chunk index, chunk count)
    uint64_t tokens = 0;
    std::vector<std::pair<size_t, uint64_t>> chunks;  // (document, chunk index)
};

}  // namespace

SplitPlan planChunkSplit(const std::vector<SplitDocument>& documents, double valFraction, uint64_t minValTokens,
                         uint64_t seed) {
    SplitPlan plan;
    uint64_t total = 0;
    for (const auto& d : documents) total += d.tokens;
    const auto share = static_cast<uint64_t>(std::llround(valFraction * static_cast<double>(total)));
    uint64_t target = std::max(share, std::min(minValTokens, total / 2));
    if (valFraction <= 0.0 && minValTokens == 0) target = 0;
    plan.targetValTokens = target;
    plan.chunkTokens = std::clamp<uint64_t>(target / 64, 32, 2048);
    const uint64_t c = plan.chunkTokens;

    // Groups of identical chunks, per kind (std::map: a stable order of kinds).
    std::map<std::string, std::vector<Group>> kinds;
    std::map<std::string, uint64_t> kindTokens;
    std::map<std::string, std::unordered_map<uint64_t, size_t>> groupIndex;
    std::vector<std::vector<bool>> val(documents.size());
    for (size_t d = 0; d < documents.size(); ++d) {
        const SplitDocument& doc = documents[d];
        const uint64_t k = chunkCount(doc.tokens, c);
        val[d].assign(k, false);
        kindTokens[doc.kind] += doc.tokens;
        auto& groups = kinds[doc.kind];
        auto& index = groupIndex[doc.kind];
        for (uint64_t i = 0; i < k; ++i) {
            const uint64_t key = mix(doc.contentHash, mix(i, k, 0), 0);
            auto [it, fresh] = index.emplace(key, groups.size());
            if (fresh) {
                Group g;
                g.key = key;
                g.rank = mix(key, 0x5eed, seed);
                groups.push_back(std::move(g));
            }
            Group& g = groups[it->second];
            g.tokens += chunkBegin(doc.tokens, k, i + 1) - chunkBegin(doc.tokens, k, i);
            g.chunks.emplace_back(d, i);
        }
    }

    if (target > 0 && total > 0) {
        for (auto& [kind, groups] : kinds) {
            const double quota = static_cast<double>(target) * static_cast<double>(kindTokens[kind]) /
                                 static_cast<double>(total);
            std::sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
                return a.rank != b.rank ? a.rank < b.rank : a.key < b.key;
            });
            uint64_t taken = 0;
            auto take = [&](const Group& g) {
                taken += g.tokens;
                for (const auto& [d, i] : g.chunks) val[d][i] = true;
            };
            // A group goes to val when that brings the kind's val tokens closer to its quota.
            for (const Group& g : groups) {
                if (static_cast<double>(taken) + static_cast<double>(g.tokens) / 2.0 <= quota) take(g);
            }
            if (taken == 0 && groups.size() >= 2) take(groups.front());  // every kind is drawn from
        }
    }

    for (size_t d = 0; d < documents.size(); ++d) {
        const uint64_t n = documents[d].tokens;
        const uint64_t k = val[d].size();
        for (uint64_t i = 0; i < k; ++i) {
            const uint64_t begin = chunkBegin(n, k, i), end = chunkBegin(n, k, i + 1);
            if (end == begin) continue;
            if (!plan.pieces.empty() && plan.pieces.back().document == d && plan.pieces.back().val == val[d][i]) {
                plan.pieces.back().tokens += end - begin;
            } else {
                plan.pieces.push_back(SplitPiece{d, begin, end - begin, val[d][i]});
            }
        }
    }
    return plan;
}

}  // namespace mts::detail
