// Parity of the byte-level BPE tokenizers with the reference ids in ../shared/fixtures
// (TOKENIZERS.md), plus rule-derived checks for the cases the shared lines do not cover.
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mts/core/tokenize/tokenizer.h"
#include "shared_data.h"
#include "tokenize/bpe_internal.h"
#include "tokenize/utf8_util.h"

namespace {

struct ParityCase {
    std::string text;
    std::vector<int32_t> ids;
};

std::vector<ParityCase> readCases(const std::filesystem::path& file) {
    std::vector<ParityCase> cases;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto j = nlohmann::json::parse(line);
        cases.push_back({j["text"].get<std::string>(), j["ids"].get<std::vector<int32_t>>()});
    }
    return cases;
}

// Loading the 50k-entry vocabularies takes a moment: each fixture is loaded once per process.
const mts::Tokenizer& cachedTokenizer(const std::filesystem::path& path) {
    static std::map<std::string, std::unique_ptr<mts::Tokenizer>> loaded;
    auto& slot = loaded[path.string()];
    if (!slot) slot = mts::loadTokenizer(path);
    return *slot;
}

std::vector<std::string> pieces(std::string_view text) {
    std::vector<std::string> out;
    mts::bpe::gpt2Splitter().split(text, [&](std::string_view p) { out.emplace_back(p); });
    return out;
}

std::vector<int32_t> concatenated(std::vector<int32_t> a, const std::vector<int32_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

TEST(TokenizerParity, Gpt2MatchesEveryCaseAndDecodesBack) {
    MTS_REQUIRE_SHARED(dir, "fixtures/tokenizer-gpt2");
    const auto* tok = &cachedTokenizer(dir);
    EXPECT_EQ(tok->vocabSize(), 50257);
    EXPECT_EQ(tok->eosId(), 50256);
    const auto cases = readCases(dir / "cases.jsonl");
    ASSERT_EQ(cases.size(), 83u);
    for (size_t i = 0; i < cases.size(); ++i) {
        EXPECT_EQ(tok->encode(cases[i].text), cases[i].ids) << "line " << i + 1;
        EXPECT_EQ(tok->decode(cases[i].ids), cases[i].text) << "line " << i + 1;
    }
}

TEST(TokenizerParity, NeoxMatchesEveryCaseAndDecodesToNfc) {
    MTS_REQUIRE_SHARED(file, "fixtures/tokenizer-neox/tokenizer.json");
    const auto* tok = &cachedTokenizer(file);
    EXPECT_EQ(tok->vocabSize(), 50277);
    EXPECT_EQ(tok->eosId(), 0);
    const auto cases = readCases(file.parent_path() / "cases.jsonl");
    ASSERT_EQ(cases.size(), 83u);
    for (size_t i = 0; i < cases.size(); ++i) {
        EXPECT_EQ(tok->encode(cases[i].text), cases[i].ids) << "line " << i + 1;
        EXPECT_EQ(tok->decode(cases[i].ids), mts::utf8::nfc(cases[i].text)) << "line " << i + 1;
    }
}

TEST(TokenizerParity, VocabJsonFileAndFolderLoadTheSameGpt2) {
    MTS_REQUIRE_SHARED(dir, "fixtures/tokenizer-gpt2");
    const auto* a = &cachedTokenizer(dir);
    const auto b = mts::loadTokenizer(dir / "vocab.json");
    const std::string text = "Hello world, it's 2024!\n\tcafé <|endoftext|> done";
    EXPECT_EQ(a->encode(text), b->encode(text));
}

TEST(TokenizerParity, SplitUsesUnicodeWhiteSpace) {
    // U+0085 and U+00A0 are White_Space: a space before them stays alone.
    EXPECT_EQ(pieces("x \xC2\x85y"), (std::vector<std::string>{"x", " ", "\xC2\x85", "y"}));
    EXPECT_EQ(pieces("x \xC2\xA0y"), (std::vector<std::string>{"x", " ", "\xC2\xA0", "y"}));
    EXPECT_EQ(pieces("x \xE2\x80\x80y"), (std::vector<std::string>{"x", " ", "\xE2\x80\x80", "y"}));
    // U+001C..U+001F and U+180E are not: they join the space as punctuation does.
    EXPECT_EQ(pieces("x \x1Cy"), (std::vector<std::string>{"x", " \x1C", "y"}));
    EXPECT_EQ(pieces("x \x1F\x1Ey"), (std::vector<std::string>{"x", " \x1F\x1E", "y"}));
    EXPECT_EQ(pieces("x \xE1\xA0\x8Ey"), (std::vector<std::string>{"x", " \xE1\xA0\x8E", "y"}));
    // Case-sensitive contractions, trailing whitespace run, combining mark alone.
    EXPECT_EQ(pieces("it's IT'S"), (std::vector<std::string>{"it", "'s", " IT", "'", "S"}));
    EXPECT_EQ(pieces("a  \n"), (std::vector<std::string>{"a", "  \n"}));
    EXPECT_EQ(pieces("cafe\xCC\x81"), (std::vector<std::string>{"cafe", "\xCC\x81"}));
}

TEST(TokenizerParity, Gpt2SpecialTokenRules) {
    MTS_REQUIRE_SHARED(dir, "fixtures/tokenizer-gpt2");
    const auto* tok = &cachedTokenizer(dir);
    // Spaces before a special token are not merged across it (TOKENIZERS.md rule 4).
    const auto a = tok->encode("a");
    EXPECT_EQ(tok->encode("a  <|endoftext|>"), concatenated(concatenated(a, {220, 220}), {50256}));
    // Partial and nested special-token text.
    const auto partial = tok->encode("<|endoftext|");
    EXPECT_EQ(std::count(partial.begin(), partial.end(), 50256), 0);
    EXPECT_EQ(tok->decode(partial), "<|endoftext|");
    const auto nested = tok->encode("<|endoftext<|endoftext|>|>");
    EXPECT_EQ(nested, concatenated(concatenated(tok->encode("<|endoftext"), {50256}), tok->encode("|>")));
    const auto pad = tok->encode("<|padding|>");  // plain text in GPT-2
    EXPECT_GT(pad.size(), 1u);
    EXPECT_EQ(std::count(pad.begin(), pad.end(), 50256), 0);
}

TEST(TokenizerParity, NeoxNormalizationRules) {
    MTS_REQUIRE_SHARED(file, "fixtures/tokenizer-neox/tokenizer.json");
    const auto* tok = &cachedTokenizer(file);
    // NFC singletons map to their canonical forms.
    EXPECT_EQ(tok->encode("\xE2\x84\xA6"), tok->encode("\xCE\xA9"));          // OHM SIGN -> OMEGA
    EXPECT_EQ(tok->encode("\xE2\x84\xAB"), tok->encode("\xC3\x85"));          // ANGSTROM -> A-ring
    EXPECT_EQ(tok->encode("a\xE2\x80\x80" "b"), tok->encode("a\xE2\x80\x82" "b"));  // U+2000 -> U+2002
    // Hangul conjoining jamo compose to the syllable.
    EXPECT_EQ(tok->encode("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB"), tok->encode("\xED\x95\x9C"));
    // A combining mark right after a special token is normalized on its own (no '>' + U+0338).
    const std::string eotSolidus = "<|endoftext|>\xCC\xB8";
    EXPECT_EQ(tok->encode(eotSolidus), concatenated({0}, tok->encode("\xCC\xB8")));
    EXPECT_EQ(tok->decode(tok->encode(eotSolidus)), eotSolidus);
    // <|padding|> is special in NeoX; <|unk|> is text.
    EXPECT_EQ(tok->encode("<|padding|>"), (std::vector<int32_t>{1}));
    EXPECT_GT(tok->encode("<|unk|>").size(), 1u);
    // Space runs: 30 spaces -> [24, 6]; 26 -> [24, 2]; 25 spaces before b -> [24, "Ġb"].
    EXPECT_EQ(tok->encode(std::string(30, ' ')), (std::vector<int32_t>{50254, 50272}));
    EXPECT_EQ(tok->encode(std::string(26, ' ')), (std::vector<int32_t>{50254, 50276}));
    EXPECT_EQ(tok->encode(std::string(25, ' ') + "b"), concatenated({50254}, tok->encode(" b")));
    EXPECT_EQ(tok->encode("Hi  Hello"), (std::vector<int32_t>{12764, 50276, 12092}));
}

TEST(TokenizerParity, InvalidUtf8IsEncodedAsReplacement) {
    MTS_REQUIRE_SHARED(file, "fixtures/tokenizer-neox/tokenizer.json");
    const auto* tok = &cachedTokenizer(file);
    EXPECT_EQ(tok->encode("a\xFF" "b"), tok->encode("a\xEF\xBF\xBD" "b"));
    EXPECT_EQ(tok->decode(tok->encode("a\xC3")), "a\xEF\xBF\xBD");
}

TEST(TokenizerParity, TokenBytesCanBePartialCharacters) {
    MTS_REQUIRE_SHARED(dir, "fixtures/tokenizer-gpt2");
    const auto* tok = &cachedTokenizer(dir);
    const std::string emoji = "\xF0\x9F\x98\x80";  // U+1F600
    const auto ids = tok->encode(emoji);
    std::string joined;
    for (int32_t id : ids) joined += tok->tokenBytes(id);
    EXPECT_EQ(joined, emoji);
    mts::Utf8StreamDecoder stream;
    std::string shown;
    for (int32_t id : ids) {
        const std::string part = stream.push(tok->tokenBytes(id));
        EXPECT_TRUE(mts::utf8::isValid(part));
        shown += part;
    }
    shown += stream.flush();
    EXPECT_EQ(shown, emoji);
}

TEST(TokenizerParity, RandomTextRoundTrips) {
    MTS_REQUIRE_SHARED(gpt2Dir, "fixtures/tokenizer-gpt2");
    MTS_REQUIRE_SHARED(neoxFile, "fixtures/tokenizer-neox/tokenizer.json");
    const auto& gpt2 = cachedTokenizer(gpt2Dir);
    const auto& neox = cachedTokenizer(neoxFile);
    // Code points drawn from the troublesome classes: spaces of all kinds, C0 controls,
    // combining marks, Hangul jamo, digits, letters, punctuation, emoji, CJK.
    const std::vector<uint32_t> pool{' ',    '\t',   '\n',   '\r',   0x0B,   0x1C,   0x1F,   0x85,    0xA0,   0x2000,
                                     0x2001, 0x2028, 0x3000, 0x180E, 'a',    'Z',    '7',    '\'',    's',    '<',
                                     '|',    '>',    '!',    0x0301, 0x0338, 0x0340, 0x1100, 0x1161,  0x11A8, 0xAC00,
                                     0x2126, 0x212B, 0xF900, 0x0374, 0xE9,   0x4E2D, 0x1F600, 0x200D, 0xFFFD, 0};
    uint64_t state = 12345;
    auto next = [&] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<uint32_t>(state >> 33);
    };
    for (int round = 0; round < 300; ++round) {
        std::string text;
        const int len = static_cast<int>(next() % 40);
        for (int k = 0; k < len; ++k) mts::utf8::append(text, pool[next() % pool.size()]);
        ASSERT_EQ(gpt2.decode(gpt2.encode(text)), text) << "round " << round;
        ASSERT_EQ(neox.decode(neox.encode(text)), mts::utf8::nfc(text)) << "round " << round;
    }
}
