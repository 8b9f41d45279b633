// Byte-level BPE training (counts of GPT-2 pre-tokenized pieces, then greedy merges).
#include "mts/core/tokenize/bpe_trainer.h"

#include <algorithm>
#include <mutex>
#include <queue>
#include <thread>

#include <xxhash.h>

#include "mts/core/runtime/errors.h"
#include "tokenize/bpe_internal.h"
#include "tokenize/utf8_util.h"

namespace mts {

namespace {
constexpr size_t kChunkBytes = 256 << 10;      // unit of parallel counting
constexpr size_t kPendingBytes = 16u << 20;    // text buffered before a counting pass
constexpr const char* kEosToken = "<|endoftext|>";

uint64_t pairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

// Cut points where the GPT-2 split gives the same pieces on both sides as on the whole: after
// a lone '\n' that follows a non-space byte and precedes a non-space byte.
bool safeCut(std::string_view s, size_t i) {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
    return i >= 2 && i < s.size() && s[i - 1] == '\n' && !ws(s[i - 2]) && !ws(s[i]) &&
           static_cast<uint8_t>(s[i - 2]) < 0x80 && static_cast<uint8_t>(s[i]) < 0x80;
}

int threadCount(int requested) {
    const int t = requested > 0 ? requested : static_cast<int>(std::thread::hardware_concurrency());
    return std::clamp(t, 1, 16);
}
}  // namespace

BpeTrainer::BpeTrainer(BpeTrainerConfig config) : m_config(std::move(config)) {}
BpeTrainer::~BpeTrainer() = default;

void BpeTrainer::addText(std::string_view text) {
    if (text.empty()) return;
    const uint64_t budget = m_config.sampleBytes;
    if (budget > 0) {
        if (m_config.totalBytesHint > budget) {
            const double keep = static_cast<double>(budget) / static_cast<double>(m_config.totalBytesHint);
            const uint64_t h = XXH64(text.data(), text.size(), 0x5eed);
            if (static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0) >= keep) return;
        }
        // A hard cap too, so a wrong hint cannot blow the budget by much.
        if (m_bytesCounted + m_pendingBytes >= budget + budget / 4) return;
    }
    std::string clean = utf8::isValid(text) ? std::string(text) : utf8::sanitize(text);
    // Long texts are cut into chunks at safe points so that counting can run in parallel.
    size_t start = 0;
    while (clean.size() - start > kChunkBytes) {
        size_t cut = start + kChunkBytes;
        while (cut < clean.size() && !safeCut(clean, cut)) ++cut;
        if (cut >= clean.size()) break;
        m_pending.push_back(clean.substr(start, cut - start));
        start = cut;
    }
    m_pending.push_back(start == 0 ? std::move(clean) : clean.substr(start));
    m_pendingBytes += text.size();
    if (m_pendingBytes >= kPendingBytes) countPending();
}

void BpeTrainer::countPending() {
    if (m_pending.empty()) return;
    const int threads = std::min<int>(threadCount(m_config.threads), static_cast<int>(m_pending.size()));
    std::vector<std::unordered_map<std::string, uint64_t>> local(threads);
    const bpe::LiteralMatcher specials({bpe::AddedToken{256, kEosToken, true, false}});
    auto work = [&](int t) {
        auto& counts = local[t];
        for (size_t i = static_cast<size_t>(t); i < m_pending.size(); i += static_cast<size_t>(threads))
            specials.split(
                m_pending[i],
                [&](std::string_view piece) {
                    bpe::gpt2Splitter().split(piece, [&](std::string_view w) { ++counts[std::string(w)]; });
                },
                [](int32_t) {});
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
    work(0);
    for (auto& th : pool) th.join();
    for (auto& counts : local)
        for (auto& [w, c] : counts) m_wordCounts[w] += c;
    m_bytesCounted += m_pendingBytes;
    m_pending.clear();
    m_pendingBytes = 0;
}

BpeTrainResult BpeTrainer::train() {
    if (m_config.vocabSize < 257) throw ConfigError("bpe vocab_size must be at least 257 (256 bytes + <|endoftext|>)");
    countPending();
    BpeTrainResult result;
    result.bytesCounted = m_bytesCounted;
    result.distinctWords = m_wordCounts.size();

    // Words in a fixed order (by bytes) so that everything below is independent of hashing.
    std::vector<std::pair<std::string, uint64_t>> sorted(m_wordCounts.begin(), m_wordCounts.end());
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::vector<int32_t>> words(sorted.size());
    std::vector<uint64_t> counts(sorted.size());
    for (size_t w = 0; w < sorted.size(); ++w) {
        for (char c : sorted[w].first) words[w].push_back(static_cast<uint8_t>(c));
        counts[w] = sorted[w].second;
    }
    sorted.clear();

    std::vector<std::string> tokenBytes(257);
    std::unordered_map<std::string, int32_t> byBytes;
    for (int b = 0; b < 256; ++b) {
        tokenBytes[b] = std::string(1, static_cast<char>(b));
        byBytes[tokenBytes[b]] = b;
    }
    tokenBytes[256] = kEosToken;  // never produced by merges: pieces cannot span '<|' and letters

    std::unordered_map<uint64_t, int64_t> pairCounts;
    std::unordered_map<uint64_t, std::vector<uint32_t>> pairWords;
    for (size_t w = 0; w < words.size(); ++w) {
        const auto& s = words[w];
        for (size_t i = 0; i + 1 < s.size(); ++i) {
            const uint64_t k = pairKey(s[i], s[i + 1]);
            pairCounts[k] += static_cast<int64_t>(counts[w]);
            auto& list = pairWords[k];
            if (list.empty() || list.back() != w) list.push_back(static_cast<uint32_t>(w));
        }
    }
    struct Entry {
        int64_t count;
        uint64_t key;
        bool operator<(const Entry& o) const {  // max-heap: higher count, then smaller key
            return count != o.count ? count < o.count : key > o.key;
        }
    };
    std::priority_queue<Entry> heap;
    for (const auto& [k, c] : pairCounts) heap.push({c, k});

    std::vector<std::pair<int32_t, int32_t>> merges;
    const int64_t wanted = m_config.vocabSize - 257;
    std::vector<uint32_t> stamp(words.size(), UINT32_MAX);
    int64_t vocab = 257;
    while (vocab < m_config.vocabSize && !heap.empty()) {
        if (m_config.cancel && m_config.cancel->load()) {
            result.cancelled = true;
            break;
        }
        const Entry top = heap.top();
        heap.pop();
        const auto it = pairCounts.find(top.key);
        const int64_t current = it == pairCounts.end() ? 0 : it->second;
        if (current != top.count) {
            if (current > 0) heap.push({current, top.key});
            continue;
        }
        if (current < static_cast<int64_t>(std::max<uint64_t>(m_config.minPairCount, 1))) break;
        const auto a = static_cast<int32_t>(top.key >> 32), b = static_cast<int32_t>(top.key & 0xFFFFFFFFu);
        const std::string merged = tokenBytes[a] + tokenBytes[b];
        int32_t id;
        const auto existing = byBytes.find(merged);
        if (existing != byBytes.end()) {
            id = existing->second;  // the same bytes reached by another merge path: reuse its id
        } else {
            id = static_cast<int32_t>(tokenBytes.size());
            tokenBytes.push_back(merged);
            byBytes.emplace(merged, id);
            ++vocab;
        }
        merges.emplace_back(a, b);
        const auto mergeIndex = static_cast<uint32_t>(merges.size());

        std::vector<uint32_t> affected = std::move(pairWords[top.key]);
        pairWords.erase(top.key);
        pairCounts.erase(top.key);
        std::unordered_map<uint64_t, int64_t> delta;
        for (uint32_t w : affected) {
            if (stamp[w] == mergeIndex) continue;
            stamp[w] = mergeIndex;
            auto& s = words[w];
            const auto c = static_cast<int64_t>(counts[w]);
            bool found = false;
            for (size_t i = 0; i + 1 < s.size(); ++i)
                if (s[i] == a && s[i + 1] == b) found = true;
            if (!found) continue;
            for (size_t i = 0; i + 1 < s.size(); ++i) {
                const uint64_t k = pairKey(s[i], s[i + 1]);
                if (k != top.key) delta[k] -= c;
            }
            size_t out = 0;
            for (size_t i = 0; i < s.size();) {
                if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
                    s[out++] = id;
                    i += 2;
                } else {
                    s[out++] = s[i++];
                }
            }
            s.resize(out);
            for (size_t i = 0; i + 1 < s.size(); ++i) {
                const uint64_t k = pairKey(s[i], s[i + 1]);
                if (k == top.key) continue;  // (a, b) may reappear only through id reuse; it is retired
                delta[k] += c;
                auto& list = pairWords[k];
                if (list.empty() || list.back() != w) list.push_back(w);
            }
        }
        // Apply in key order so the heap sees the same pushes on every run.
        std::vector<std::pair<uint64_t, int64_t>> changes(delta.begin(), delta.end());
        std::sort(changes.begin(), changes.end());
        for (const auto& [k, d] : changes) {
            if (d == 0) continue;
            auto& pc = pairCounts[k];
            pc += d;
            if (d > 0) heap.push({pc, k});
            if (pc <= 0) pairCounts.erase(k);
        }
        if (m_config.progress && merges.size() % 256 == 0) m_config.progress(static_cast<int64_t>(merges.size()), wanted);
    }
    if (m_config.progress) m_config.progress(static_cast<int64_t>(merges.size()), wanted);
    if (vocab < m_config.vocabSize && !result.cancelled)
        result.warnings.push_back("the corpus supports only " + std::to_string(vocab) + " tokens (asked for " +
                                  std::to_string(m_config.vocabSize) + ")");

    bpe::BpeSpec spec;
    for (size_t id = 0; id < tokenBytes.size(); ++id)
        spec.vocab.emplace_back(id == 256 ? std::string(kEosToken) : bpe::bytesToStandIns(tokenBytes[id]),
                                static_cast<int32_t>(id));
    for (const auto& [a, b] : merges)
        spec.merges.emplace_back(bpe::bytesToStandIns(tokenBytes[a]), bpe::bytesToStandIns(tokenBytes[b]));
    spec.added.push_back(bpe::AddedToken{256, kEosToken, true, false});
    result.merges = static_cast<int64_t>(merges.size());
    result.tokenizer = std::make_unique<bpe::BpeTokenizer>(std::move(spec), "trained tokenizer");
    return result;
}

}  // namespace mts
