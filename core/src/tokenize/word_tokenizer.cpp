// Word-level tokenizer (whitespace split, <unk> for unknown words), stored as an HF WordLevel
// tokenizer.json with a WhitespaceSplit pre-tokenizer.
#include <algorithm>
#include <fstream>
#include <unordered_map>

#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/bpe_trainer.h"
#include "tokenize/bpe_internal.h"
#include "tokenize/tokenizer_internal.h"
#include "tokenize/utf8_util.h"

namespace mts::detail {

namespace {

// Calls onWord for each maximal run of non-White_Space characters (valid UTF-8 input).
template <typename F>
void whitespaceSplit(std::string_view text, F&& onWord) {
    size_t i = 0, start = std::string_view::npos;
    while (i < text.size()) {
        size_t n = 1;
        uint32_t cp = static_cast<uint8_t>(text[i]);
        if (cp >= 0x80) {
            n = utf8::validSequenceLength(text, i);
            if (n == 0) n = 1;
            else cp = utf8::decodeAt(text, i, n);
        }
        if (utf8::isWhiteSpace(cp)) {
            if (start != std::string_view::npos) onWord(text.substr(start, i - start));
            start = std::string_view::npos;
        } else if (start == std::string_view::npos) {
            start = i;
        }
        i += n;
    }
    if (start != std::string_view::npos) onWord(text.substr(start));
}

class WordTokenizer final : public Tokenizer {
public:
    WordTokenizer(std::vector<std::string> words, const std::string& unk, const std::string& eos,
                  const std::string& file)
        : m_words(std::move(words)), m_specials({}) {
        for (size_t i = 0; i < m_words.size(); ++i)
            if (!m_index.emplace(m_words[i], static_cast<int32_t>(i)).second)
                throw FormatError(file, "word '" + m_words[i] + "' appears twice in the vocabulary");
        const auto u = m_index.find(unk);
        if (u == m_index.end()) throw FormatError(file, "unk_token '" + unk + "' is not in the vocabulary");
        m_unk = u->second;
        m_unkText = unk;
        if (!eos.empty()) {
            const auto e = m_index.find(eos);
            if (e != m_index.end()) {
                m_eos = e->second;
                m_eosText = eos;
                m_specials = bpe::LiteralMatcher({bpe::AddedToken{e->second, eos, true, false}});
            }
        }
    }
    std::string kind() const override { return "word"; }
    std::vector<int32_t> encode(std::string_view text) const override {
        std::vector<int32_t> out;
        const std::string clean = utf8::sanitize(text);
        m_specials.split(
            clean,
            [&](std::string_view piece) {
                whitespaceSplit(piece, [&](std::string_view w) {
                    const auto it = m_index.find(std::string(w));
                    out.push_back(it == m_index.end() ? m_unk : it->second);
                });
            },
            [&](int32_t id) { out.push_back(id); });
        return out;
    }
    std::string decode(const std::vector<int32_t>& ids) const override {
        std::string out;
        for (int32_t id : ids) {
            if (id < 0 || static_cast<size_t>(id) >= m_words.size()) continue;
            if (!out.empty()) out += ' ';
            out += m_words[id];
        }
        return out;
    }
    std::string tokenBytes(int32_t id) const override {
        return id >= 0 && static_cast<size_t>(id) < m_words.size() ? m_words[id] : std::string();
    }
    int64_t vocabSize() const override { return static_cast<int64_t>(m_words.size()); }
    std::optional<int32_t> eosId() const override { return m_eos; }
    void save(const std::filesystem::path& file) const override {
        using OJ = nlohmann::ordered_json;
        OJ added = OJ::array();
        auto addSpecial = [&](int32_t id, const std::string& text) {
            added.push_back(OJ{{"id", id}, {"content", text}, {"single_word", false}, {"lstrip", false},
                               {"rstrip", false}, {"normalized", false}, {"special", true}});
        };
        addSpecial(m_unk, m_unkText);
        if (m_eos) addSpecial(*m_eos, m_eosText);
        OJ vocab = OJ::object();
        for (size_t i = 0; i < m_words.size(); ++i) vocab[m_words[i]] = i;
        OJ doc;
        doc["version"] = "1.0";
        doc["truncation"] = nullptr;
        doc["padding"] = nullptr;
        doc["added_tokens"] = added;
        doc["normalizer"] = nullptr;
        doc["pre_tokenizer"] = OJ{{"type", "WhitespaceSplit"}};
        doc["post_processor"] = nullptr;
        doc["decoder"] = nullptr;
        doc["model"] = OJ{{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", m_unkText}};
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error(file.string() + ": cannot write");
        out << doc.dump(2) << '\n';
        if (!out) throw std::runtime_error(file.string() + ": write failed");
    }

private:
    std::vector<std::string> m_words;
    std::unordered_map<std::string, int32_t> m_index;
    int32_t m_unk = 0;
    std::string m_unkText, m_eosText;
    std::optional<int32_t> m_eos;
    bpe::LiteralMatcher m_specials;
};

}  // namespace

std::unique_ptr<Tokenizer> makeWordLevel(std::vector<std::string> words, const std::string& unk,
                                         const std::string& eos, const std::string& sourceFile) {
    return std::make_unique<WordTokenizer>(std::move(words), unk, eos, sourceFile);
}

std::unique_ptr<Tokenizer> wordLevelFromHfJson(const nlohmann::json& doc, const std::string& file) {
    const auto& model = doc.at("model");
    const auto vocab = model.find("vocab");
    if (vocab == model.end() || !vocab->is_object()) throw FormatError(file, "model.vocab must be an object of word -> id");
    const auto pre = doc.find("pre_tokenizer");
    if (pre == doc.end() || !pre->is_object() || pre->value("type", std::string()) != "WhitespaceSplit")
        throw FormatError(file, "WordLevel tokenizers are supported with the WhitespaceSplit pre-tokenizer only");
    if (doc.contains("normalizer") && !doc["normalizer"].is_null())
        throw FormatError(file, "WordLevel tokenizers with a normalizer are not supported");
    std::vector<std::string> words(vocab->size());
    std::vector<bool> seen(vocab->size(), false);
    for (auto it = vocab->begin(); it != vocab->end(); ++it) {
        if (!it.value().is_number_integer()) throw FormatError(file, "id of word '" + it.key() + "' is not an integer");
        const auto id = it.value().get<int64_t>();
        if (id < 0 || static_cast<size_t>(id) >= words.size() || seen[id])
            throw FormatError(file, "word ids must be 0..N-1 without gaps or repeats (bad id " + std::to_string(id) + ")");
        seen[id] = true;
        words[id] = it.key();
    }
    const auto unk = model.find("unk_token");
    if (unk == model.end() || !unk->is_string()) throw FormatError(file, "model.unk_token must be a string");
    std::string eos;
    for (const auto& w : words)
        if (w == "<|endoftext|>") eos = w;
    return makeWordLevel(std::move(words), unk->get<std::string>(), eos, file);
}

}  // namespace mts::detail

namespace mts {

WordLevelTrainer::WordLevelTrainer(WordLevelConfig config) : m_config(config) {}

void WordLevelTrainer::addText(std::string_view text) {
    const std::string clean = utf8::sanitize(text);
    detail::whitespaceSplit(clean, [&](std::string_view w) { ++m_counts[std::string(w)]; });
}

std::unique_ptr<Tokenizer> WordLevelTrainer::train() const {
    const std::string unk = "<unk>", eos = "<|endoftext|>";
    std::vector<std::pair<std::string, uint64_t>> words;
    for (const auto& [w, c] : m_counts)
        if (c >= m_config.minCount && w != unk && w != eos) words.emplace_back(w, c);
    std::sort(words.begin(), words.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    const auto room = static_cast<size_t>(std::max<int64_t>(m_config.maxVocab - 2, 0));
    if (words.size() > room) words.resize(room);
    std::vector<std::string> vocab{unk, eos};
    for (auto& [w, c] : words) vocab.push_back(w);
    return detail::makeWordLevel(std::move(vocab), unk, eos, "trained word-level tokenizer");
}

}  // namespace mts
