// Byte-level BPE encoding and decoding (GPT-2 / GPT-NeoX family). The rules and their order
// follow ../shared/fixtures/TOKENIZERS.md: special tokens on raw text, NFC per piece,
// normalized added tokens, GPT-2 split, byte stand-ins, merge by rank.
#include <algorithm>
#include <queue>
#include <unordered_set>

#include "mts/core/runtime/errors.h"
#include "tokenize/bpe_internal.h"
#include "tokenize/utf8_util.h"

namespace mts::bpe {

namespace {
constexpr int64_t kMaxVocab = 1 << 24;  // far above any real vocabulary; guards absurd ids
constexpr size_t kCacheMaxPieceBytes = 48;
constexpr size_t kCacheSlots = 1 << 14;

std::atomic<uint64_t> g_nextInstanceId{1};

// Per-thread, direct-mapped cache of piece -> ids: no locks and no allocation on a hit. It
// belongs to one tokenizer at a time (by instance id) and is reset when another one uses it.
struct PieceCache {
    struct Slot {
        std::string key;
        std::vector<int32_t> ids;
        bool used = false;
    };
    uint64_t owner = 0;
    std::vector<Slot> slots;
    Slot& slotFor(uint64_t instance, std::string_view bytes) {
        if (owner != instance || slots.empty()) {
            slots.assign(kCacheSlots, Slot());
            owner = instance;
        }
        return slots[std::hash<std::string_view>{}(bytes) & (kCacheSlots - 1)];
    }
};

uint64_t pairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

std::vector<AddedToken> selectAdded(const std::vector<AddedToken>& all, bool normalized) {
    std::vector<AddedToken> out;
    for (const auto& t : all)
        if (t.normalized == normalized) out.push_back(t);
    return out;
}
}  // namespace

BpeTokenizer::BpeTokenizer(BpeSpec spec, const std::string& sourceFile)
    : m_spec(std::move(spec)),
      m_rawMatcher(selectAdded(m_spec.added, false)),
      m_normMatcher(selectAdded(m_spec.added, true)),
      m_instanceId(g_nextInstanceId.fetch_add(1)) {
    std::unordered_map<std::string, int32_t> byToken;
    byToken.reserve(m_spec.vocab.size() * 2);
    int64_t maxId = -1;
    for (const auto& [token, id] : m_spec.vocab) {
        if (id < 0 || id >= kMaxVocab)
            throw FormatError(sourceFile, "vocabulary id " + std::to_string(id) + " of token '" + token +
                                              "' is out of range");
        if (!byToken.emplace(token, id).second)
            throw FormatError(sourceFile, "token '" + token + "' appears twice in the vocabulary");
        maxId = std::max<int64_t>(maxId, id);
    }
    for (const auto& t : m_spec.added) {
        if (t.id < 0 || t.id >= kMaxVocab)
            throw FormatError(sourceFile, "added token id " + std::to_string(t.id) + " is out of range");
        if (t.content.empty()) throw FormatError(sourceFile, "added token " + std::to_string(t.id) + " is empty");
        maxId = std::max<int64_t>(maxId, t.id);
    }
    if (maxId < 0) throw FormatError(sourceFile, "the vocabulary is empty");
    m_tokenBytes.assign(static_cast<size_t>(maxId + 1), std::string());
    std::vector<bool> seen(m_tokenBytes.size(), false);
    for (const auto& [token, id] : m_spec.vocab) {
        if (seen[id]) throw FormatError(sourceFile, "vocabulary id " + std::to_string(id) + " is used twice");
        seen[id] = true;
        std::string bytes;
        m_tokenBytes[id] = standInsToBytes(token, bytes) ? bytes : token;
    }
    for (const auto& t : m_spec.added) {
        if (seen[t.id]) continue;  // an added token may repeat a vocabulary entry (HF allows it)
        std::string bytes;
        m_tokenBytes[t.id] = standInsToBytes(t.content, bytes) ? bytes : t.content;
    }

    const auto& fwd = byteToCodepoint();
    for (int b = 0; b < 256; ++b) {
        std::string ch;
        utf8::append(ch, fwd[b]);
        const auto it = byToken.find(ch);
        m_byteId[b] = it == byToken.end() ? -1 : it->second;
    }

    m_merges.reserve(m_spec.merges.size() * 2);
    for (size_t rank = 0; rank < m_spec.merges.size(); ++rank) {
        const auto& [a, b] = m_spec.merges[rank];
        const auto ia = byToken.find(a), ib = byToken.find(b), ic = byToken.find(a + b);
        const std::string where = "merge " + std::to_string(rank + 1) + " ('" + a + " " + b + "')";
        if (ia == byToken.end()) throw FormatError(sourceFile, where + " references unknown token '" + a + "'");
        if (ib == byToken.end()) throw FormatError(sourceFile, where + " references unknown token '" + b + "'");
        if (ic == byToken.end())
            throw FormatError(sourceFile, where + ": the merged token '" + a + b + "' is not in the vocabulary");
        // A repeated merge keeps its first (lowest) rank, as HF does.
        m_merges.emplace(pairKey(ia->second, ib->second),
                         std::make_pair(static_cast<int32_t>(rank), ic->second));
    }

    for (const char* name : {"<|endoftext|>", "</s>", "<eos>"}) {
        for (const auto& t : m_spec.added)
            if (t.content == name) m_eos = t.id;
        if (!m_eos) {
            const auto it = byToken.find(name);
            if (it != byToken.end()) m_eos = it->second;
        }
        if (m_eos) break;
    }
}

void BpeTokenizer::bpeMerge(std::vector<int32_t>& sym) const {
    const size_t n = sym.size();
    if (n < 2) return;
    if (n <= 16) {
        // Short words: repeatedly merge every occurrence of the lowest-ranked pair, left to right.
        while (sym.size() >= 2) {
            int32_t bestRank = INT32_MAX, bestId = -1, bestA = 0, bestB = 0;
            for (size_t i = 0; i + 1 < sym.size(); ++i) {
                const auto it = m_merges.find(pairKey(sym[i], sym[i + 1]));
                if (it != m_merges.end() && it->second.first < bestRank) {
                    bestRank = it->second.first;
                    bestId = it->second.second;
                    bestA = sym[i];
                    bestB = sym[i + 1];
                }
            }
            if (bestId < 0) break;
            size_t w = 0;
            for (size_t i = 0; i < sym.size();) {
                if (i + 1 < sym.size() && sym[i] == bestA && sym[i + 1] == bestB) {
                    sym[w++] = bestId;
                    i += 2;
                } else {
                    sym[w++] = sym[i++];
                }
            }
            sym.resize(w);
        }
        return;
    }
    // Long words: a linked list and a queue keyed by (rank, position), as HF's merge_all.
    std::vector<int32_t> prev(n), next(n);
    std::vector<bool> alive(n, true);
    for (size_t i = 0; i < n; ++i) {
        prev[i] = static_cast<int32_t>(i) - 1;
        next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
    }
    using Entry = std::pair<int32_t, int32_t>;  // (rank, position)
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue;
    for (size_t i = 0; i + 1 < n; ++i) {
        const auto it = m_merges.find(pairKey(sym[i], sym[i + 1]));
        if (it != m_merges.end()) queue.emplace(it->second.first, static_cast<int32_t>(i));
    }
    while (!queue.empty()) {
        const auto [rank, pos] = queue.top();
        queue.pop();
        if (!alive[pos] || next[pos] < 0) continue;
        const int32_t right = next[pos];
        const auto it = m_merges.find(pairKey(sym[pos], sym[right]));
        if (it == m_merges.end() || it->second.first != rank) continue;  // stale entry
        sym[pos] = it->second.second;
        alive[right] = false;
        next[pos] = next[right];
        if (next[right] >= 0) prev[next[right]] = pos;
        if (prev[pos] >= 0) {
            const auto p = m_merges.find(pairKey(sym[prev[pos]], sym[pos]));
            if (p != m_merges.end()) queue.emplace(p->second.first, prev[pos]);
        }
        if (next[pos] >= 0) {
            const auto p = m_merges.find(pairKey(sym[pos], sym[next[pos]]));
            if (p != m_merges.end()) queue.emplace(p->second.first, pos);
        }
    }
    size_t w = 0;
    for (size_t i = 0; i < n; ++i)
        if (alive[i]) sym[w++] = sym[i];
    sym.resize(w);
}

void BpeTokenizer::encodeWord(std::string_view bytes, std::vector<int32_t>& out) const {
    thread_local PieceCache cache;
    PieceCache::Slot* slot = nullptr;
    if (bytes.size() <= kCacheMaxPieceBytes) {
        slot = &cache.slotFor(m_instanceId, bytes);
        if (slot->used && slot->key == bytes) {
            out.insert(out.end(), slot->ids.begin(), slot->ids.end());
            return;
        }
    }
    std::vector<int32_t> sym;
    sym.reserve(bytes.size());
    for (char c : bytes) {
        const int32_t id = m_byteId[static_cast<uint8_t>(c)];
        if (id >= 0) sym.push_back(id);  // bytes without a stand-in token (never in valid UTF-8 for NeoX) are dropped
    }
    bpeMerge(sym);
    out.insert(out.end(), sym.begin(), sym.end());
    if (slot) {
        slot->key.assign(bytes.data(), bytes.size());
        slot->ids.assign(sym.begin(), sym.end());
        slot->used = true;
    }
}

void BpeTokenizer::encodeNormalizedPiece(std::string_view piece, std::vector<int32_t>& out) const {
    const auto& splitter = gpt2Splitter();
    auto onText = [&](std::string_view text) {
        if (m_spec.addPrefixSpace && !text.empty() && text.front() != ' ') {
            const std::string prefixed = " " + std::string(text);
            splitter.split(prefixed, [&](std::string_view w) { encodeWord(w, out); });
        } else {
            splitter.split(text, [&](std::string_view w) { encodeWord(w, out); });
        }
    };
    m_normMatcher.split(piece, onText, [&](int32_t id) { out.push_back(id); });
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 1);
    // Invalid UTF-8 cannot go through the regex; it is encoded as U+FFFD (documented in tokenizer.h).
    std::string repaired;
    if (!utf8::isValid(text)) {
        repaired = utf8::sanitize(text);
        text = repaired;
    }
    m_rawMatcher.split(
        text,
        [&](std::string_view piece) {
            if (m_spec.nfc) {
                const std::string normalized = utf8::nfc(piece);
                encodeNormalizedPiece(normalized, out);
            } else {
                encodeNormalizedPiece(piece, out);
            }
        },
        [&](int32_t id) { out.push_back(id); });
    return out;
}

std::string BpeTokenizer::tokenBytes(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= m_tokenBytes.size()) return {};
    return m_tokenBytes[id];
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids) const {
    std::string bytes;
    for (int32_t id : ids)
        if (id >= 0 && static_cast<size_t>(id) < m_tokenBytes.size()) bytes += m_tokenBytes[id];
    return utf8::sanitize(bytes);
}

}  // namespace mts::bpe
