// Byte tokenizer, streaming UTF-8 decoding, loadTokenizer dispatch and malformed tokenizer files.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::writeFile;

namespace {

// A tiny valid byte-level BPE tokenizer.json: bytes a, b, c, space stand-in, merges a b -> ab, ab c -> abc.
nlohmann::json tinyBpe() {
    return nlohmann::json::parse(R"({
      "version": "1.0",
      "added_tokens": [{"id": 6, "content": "<|endoftext|>", "special": true, "normalized": false}],
      "normalizer": null,
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true},
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "\u0120": 3, "ab": 4, "abc": 5, "<|endoftext|>": 6},
                "merges": ["a b", "ab c"]}
    })");
}

void expectFormatError(const std::filesystem::path& p, const std::string& fragment) {
    try {
        mts::loadTokenizer(p);
        ADD_FAILURE() << "no FormatError for " << p;
    } catch (const mts::FormatError& e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
        EXPECT_FALSE(e.file().empty());
    }
}

}  // namespace

TEST(ByteTokenizer, EncodesBytesAndEndOfText) {
    const auto tok = mts::makeByteTokenizer();
    EXPECT_EQ(tok->kind(), "byte");
    EXPECT_EQ(tok->vocabSize(), 257);
    EXPECT_EQ(tok->eosId(), 256);
    EXPECT_EQ(tok->encode("A\xC3\xA9"), (std::vector<int32_t>{65, 0xC3, 0xA9}));
    EXPECT_EQ(tok->encode("x<|endoftext|>y"), (std::vector<int32_t>{'x', 256, 'y'}));
    const std::string text = std::string("line\n\0nul", 9) + " caf\xC3\xA9 \xF0\x9F\x98\x80";
    EXPECT_EQ(tok->decode(tok->encode(text)), text);
    EXPECT_EQ(tok->decode({0xC3}), "\xEF\xBF\xBD");
    EXPECT_EQ(tok->tokenBytes(256), "<|endoftext|>");
    EXPECT_EQ(tok->tokenBytes(999), "");
}

TEST(ByteTokenizer, SavesAndLoadsBack) {
    mts::test::TempDir dir;
    mts::makeByteTokenizer()->save(dir / "tokenizer.json");
    const auto back = mts::loadTokenizer(dir.path());
    EXPECT_EQ(back->kind(), "byte");
    EXPECT_EQ(back->encode("abc<|endoftext|>"), (std::vector<int32_t>{97, 98, 99, 256}));
    auto doc = nlohmann::json::parse(std::ifstream(dir / "tokenizer.json"));
    doc["vocab_size"] = 300;
    writeFile(dir / "tokenizer.json", doc.dump());
    expectFormatError(dir / "tokenizer.json", "vocab_size");
}

TEST(Utf8StreamDecoder, HoldsIncompleteCharacters) {
    mts::Utf8StreamDecoder d;
    EXPECT_EQ(d.push("a\xF0\x9F"), "a");
    EXPECT_EQ(d.push("\x98"), "");
    EXPECT_EQ(d.push("\x80z"), "\xF0\x9F\x98\x80z");
    EXPECT_EQ(d.push("\xFF" "b"), "\xEF\xBF\xBD" "b");      // invalid byte shows as U+FFFD at once
    EXPECT_EQ(d.push("\xC3" "c"), "\xEF\xBF\xBD" "c");      // broken sequence
    EXPECT_EQ(d.push("\xE2\x82"), "");
    EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");                   // incomplete tail at the end
    EXPECT_EQ(d.flush(), "");
}

TEST(BpeTokenizer, LoadsMergesAsStringsOrArrays) {
    mts::test::TempDir dir;
    auto doc = tinyBpe();
    writeFile(dir / "a.json", doc.dump());
    doc["model"]["merges"] = nlohmann::json::array({{"a", "b"}, {"ab", "c"}});
    writeFile(dir / "b.json", doc.dump());
    const auto a = mts::loadTokenizer(dir / "a.json");
    const auto b = mts::loadTokenizer(dir / "b.json");
    EXPECT_EQ(a->kind(), "bpe");
    EXPECT_EQ(a->encode("abc ab<|endoftext|>"), (std::vector<int32_t>{5, 3, 4, 6}));
    EXPECT_EQ(b->encode("abc ab<|endoftext|>"), a->encode("abc ab<|endoftext|>"));
    EXPECT_EQ(a->eosId(), 6);
    EXPECT_EQ(a->decode({5, 3, 4}), "abc ab");
    // Save and load back: identical ids and bytes.
    a->save(dir / "c.json");
    const auto c = mts::loadTokenizer(dir / "c.json");
    EXPECT_EQ(c->vocabSize(), a->vocabSize());
    for (int32_t id = 0; id < a->vocabSize(); ++id) EXPECT_EQ(c->tokenBytes(id), a->tokenBytes(id));
    EXPECT_EQ(c->encode("cabcab"), a->encode("cabcab"));
}

// Added-token options: single_word matches only a whole word (no letter, digit or '_' on
// either side, non-ASCII letters included); lstrip / rstrip absorb the spaces beside a match.
TEST(BpeTokenizer, AddedTokenSingleWordAndStrip) {
    mts::test::TempDir dir;
    auto doc = tinyBpe();
    doc["model"]["vocab"]["<w>"] = 7;
    doc["model"]["vocab"]["<s>"] = 8;
    doc["model"]["vocab"]["\u00c3"] = 9;   // byte stand-ins of U+00E9's UTF-8 (C3 A9)
    doc["model"]["vocab"]["\u00a9"] = 10;
    doc["model"]["vocab"]["_"] = 11;
    doc["model"]["vocab"]["-"] = 12;
    doc["added_tokens"].push_back({{"id", 7}, {"content", "ab"}, {"special", false}, {"normalized", false},
                                   {"single_word", true}});
    doc["added_tokens"].push_back({{"id", 8}, {"content", "<s>"}, {"special", true}, {"normalized", false},
                                   {"lstrip", true}, {"rstrip", true}});
    writeFile(dir / "t.json", doc.dump());
    const auto t = mts::loadTokenizer(dir / "t.json");
    using V = std::vector<int32_t>;
    EXPECT_EQ(t->encode("ab"), (V{7}));
    EXPECT_EQ(t->encode("c ab c"), (V{2, 3, 7, 3, 2}));    // spaces: a word of its own
    EXPECT_EQ(t->encode("abc"), (V{5}));                  // inside a word: plain BPE
    EXPECT_EQ(t->encode("cab"), (V{2, 4}));               // 'c' before it: plain BPE ("c" "ab")
    EXPECT_EQ(t->encode("ab_"), (V{4, 11}));              // '_' is a word character
    EXPECT_EQ(t->encode("\xC3\xA9" "ab"), (V{9, 10, 4}));  // so is a non-ASCII letter (e acute)
    EXPECT_EQ(t->encode("-ab"), (V{12, 7}));              // punctuation is not
    EXPECT_EQ(t->encode("abcab ab"), (V{5, 4, 3, 7}));    // first two are inside words
    EXPECT_EQ(t->encode("a <s> b"), (V{0, 8, 1}));        // the spaces go with <s>
}

TEST(BpeTokenizer, RejectsMalformedFiles) {
    mts::test::TempDir dir;
    const auto write = [&](const std::string& name, const nlohmann::json& doc) {
        writeFile(dir / name, doc.dump());
        return dir / name;
    };
    writeFile(dir / "bad.json", "{\"model\": {\"type\": \"BPE\", ");
    expectFormatError(dir / "bad.json", "not valid JSON");
    const std::string full = tinyBpe().dump();
    writeFile(dir / "trunc.json", full.substr(0, full.size() / 2));
    expectFormatError(dir / "trunc.json", "not valid JSON");
    writeFile(dir / "array.json", "[1, 2]");
    expectFormatError(dir / "array.json", "JSON object");
    auto doc = tinyBpe();
    doc.erase("model");
    expectFormatError(write("nomodel.json", doc), "model");
    doc = tinyBpe();
    doc["model"]["type"] = "Unigram";
    expectFormatError(write("unigram.json", doc), "Unigram");
    doc = tinyBpe();
    doc["model"]["merges"].push_back("ab zz");
    expectFormatError(write("unknown.json", doc), "unknown token 'zz'");
    doc = tinyBpe();
    doc["model"]["merges"].push_back("b c");  // "bc" is not in the vocabulary
    expectFormatError(write("result.json", doc), "not in the vocabulary");
    doc = tinyBpe();
    doc["model"]["merges"].push_back("abc");
    expectFormatError(write("mergeform.json", doc), "left right");
    doc = tinyBpe();
    doc["model"]["vocab"]["a"] = "zero";
    expectFormatError(write("idtype.json", doc), "not an integer");
    doc = tinyBpe();
    doc["model"]["vocab"]["a"] = -3;
    expectFormatError(write("idneg.json", doc), "out of range");
    doc = tinyBpe();
    doc["model"]["vocab"]["b"] = 0;
    expectFormatError(write("iddup.json", doc), "used twice");
    doc = tinyBpe();
    doc["model"].erase("vocab");
    expectFormatError(write("novocab.json", doc), "vocab");
    doc = tinyBpe();
    doc["normalizer"] = {{"type", "Lowercase"}};
    expectFormatError(write("norm.json", doc), "normalizer");
    doc = tinyBpe();
    doc["pre_tokenizer"] = {{"type", "Whitespace"}};
    expectFormatError(write("pre.json", doc), "pre_tokenizer");
    doc = tinyBpe();
    doc["added_tokens"][0].erase("id");
    expectFormatError(write("added.json", doc), "added token");
    expectFormatError(dir / "missing.json", "no such file");
    std::filesystem::create_directory(dir / "empty");
    expectFormatError(dir / "empty", "neither tokenizer.json");
}

TEST(BpeTokenizer, RejectsMalformedVocabMergesPair) {
    mts::test::TempDir dir;
    writeFile(dir / "vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
    writeFile(dir / "merges.txt", "#version: 0.2\na b\n");
    EXPECT_EQ(mts::loadTokenizer(dir.path())->encode("ab"), (std::vector<int32_t>{2}));
    writeFile(dir / "merges.txt", "#version: 0.2\na c\n");
    expectFormatError(dir.path(), "unknown token 'c'");
    writeFile(dir / "merges.txt", "#version: 0.2\na b\nab\n");
    expectFormatError(dir.path(), "left right");
    writeFile(dir / "vocab.json", R"({"a": 0, "b": 1, "ab": )");
    expectFormatError(dir.path(), "not valid JSON");
}

TEST(WordTokenizer, RejectsMalformedFiles) {
    mts::test::TempDir dir;
    auto doc = nlohmann::json::parse(R"({"model": {"type": "WordLevel", "vocab": {"<unk>": 0, "hi": 1},
        "unk_token": "<unk>"}, "pre_tokenizer": {"type": "WhitespaceSplit"}})");
    writeFile(dir / "ok.json", doc.dump());
    EXPECT_EQ(mts::loadTokenizer(dir / "ok.json")->encode("hi  there\thi"), (std::vector<int32_t>{1, 0, 1}));
    doc["model"]["vocab"]["hi"] = 5;
    writeFile(dir / "gap.json", doc.dump());
    expectFormatError(dir / "gap.json", "bad id 5");
    doc["model"]["vocab"]["hi"] = 1;
    doc["model"]["unk_token"] = "<oov>";
    writeFile(dir / "unk.json", doc.dump());
    expectFormatError(dir / "unk.json", "unk_token");
}
