// The representative validation split (issue 14, item 3): val holds the requested fraction of
// tokens (+-20%), drawn from every kind and from all along large documents, reproducible from
// the seed, and the same text is never on both sides.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "corpus/chunk_split.h"
#include "mts/core/corpus/corpus.h"
#include "mts/core/corpus/corpus_builder.h"
#include "mts/core/tokenize/tokenizer.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::readFile;

namespace {

namespace fs = std::filesystem;
using mts::CorpusDocument;

// Text of `bytes` bytes from a seeded word list (varied, so chunks differ).
std::string prose(size_t bytes, unsigned seed) {
    static const char* kWords[] = {"state", "space", "model", "reads", "tokens", "selects", "memory", "the",
                                   "of", "and", "kernel", "scan", "layer", "gate", "signal", "learns"};
    std::mt19937 rng(seed);
    std::string out;
    while (out.size() < bytes) {
        out += kWords[rng() % 16];
        out += rng() % 9 == 0 ? ".\n" : " ";
    }
    out.resize(bytes);
    return out;
}

mts::CorpusBuildResult build(const fs::path& out, const std::vector<CorpusDocument>& docs, double fraction,
                             uint64_t seed) {
    mts::CorpusBuildConfig cfg;
    cfg.outDir = out;
    cfg.valFraction = fraction;
    cfg.seed = seed;
    cfg.threads = 2;
    return mts::buildCorpus(cfg, [&](const mts::CorpusDocumentSink& sink) {
        for (const auto& d : docs)
            if (!sink(d)) break;
        return nlohmann::json::object();
    });
}

std::vector<nlohmann::json> documentLines(const fs::path& corpus) {
    std::vector<nlohmann::json> out;
    std::istringstream in(readFile(corpus / "documents.jsonl"));
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
}

// One 1 MB text and 30 small files of two other kinds: the new user's dropped folder.
std::vector<CorpusDocument> droppedFolder() {
    std::vector<CorpusDocument> docs;
    docs.push_back({"folder/book.txt", "text", prose(1 << 20, 1)});
    for (int i = 0; i < 20; ++i) docs.push_back({"folder/note" + std::to_string(i) + ".md", "markdown", prose(1500 + 97 * i, 10 + i)});
    for (int i = 0; i < 10; ++i) docs.push_back({"folder/src" + std::to_string(i) + ".cpp", "code", prose(3000 + 211 * i, 50 + i)});
    return docs;
}

TEST(CorpusSplit, HoldsTheFractionFromEveryKindAndAllAlongALargeDocument) {
    mts::test::TempDir tmp;
    const auto docs = droppedFolder();
    const auto r = build(tmp / "c", docs, 0.05, 0);
    const double total = static_cast<double>(r.summary.trainTokens + r.summary.valTokens);
    const double val = static_cast<double>(r.summary.valTokens);
    EXPECT_NEAR(val / total, 0.05, 0.05 * 0.2) << val << " of " << total;
    for (const auto& [kind, k] : r.summary.kinds) {
        EXPECT_GT(k.valTokens, 0u) << kind;
        EXPECT_NEAR(static_cast<double>(k.valTokens) / static_cast<double>(k.tokens), 0.05, 0.05 * 0.5) << kind;
    }
    // The book lends val many pieces, from its start to its end.
    uint64_t bookPieces = 0, bookAt = 0, first = UINT64_MAX, last = 0;
    for (const auto& j : documentLines(tmp / "c")) {
        if (j["source"] != "folder/book.txt") continue;
        if (j["split"] == "val") {
            ++bookPieces;
            first = std::min(first, bookAt);
            last = std::max(last, bookAt);
        }
        bookAt += j["tokens"].get<uint64_t>();
    }
    EXPECT_GE(bookPieces, 10u);
    EXPECT_LT(first, bookAt / 4);
    EXPECT_GT(last, bookAt * 3 / 4);
    // The manifest and the corpus reader agree with the summary.
    const auto m = nlohmann::json::parse(readFile(tmp / "c" / "manifest.json"));
    EXPECT_EQ(m["split"]["by"], "chunks");
    EXPECT_EQ(m["tokens"]["val"], r.summary.valTokens);
    EXPECT_EQ(m["kinds"]["markdown"]["val_tokens"], r.summary.kinds.at("markdown").valTokens);
    const mts::Corpus c = mts::openCorpus(tmp / "c");
    EXPECT_EQ(c.val.size(), r.summary.valTokens);
}

TEST(CorpusSplit, TwoTextsBothLendValidation) {
    mts::test::TempDir tmp;
    const auto r = build(tmp / "c", {{"a.txt", "text", prose(200000, 3)}, {"b.txt", "text", prose(150000, 4)}}, 0.1, 0);
    const double total = static_cast<double>(r.summary.trainTokens + r.summary.valTokens);
    EXPECT_NEAR(static_cast<double>(r.summary.valTokens) / total, 0.1, 0.1 * 0.2);
    std::set<std::string> valSources;
    for (const auto& j : documentLines(tmp / "c"))
        if (j["split"] == "val") valSources.insert(j["source"].get<std::string>());
    EXPECT_EQ(valSources, (std::set<std::string>{"a.txt", "b.txt"}));
    EXPECT_EQ(r.summary.valDocuments, 2u);
    EXPECT_EQ(r.summary.trainDocuments, 2u);
}

TEST(CorpusSplit, ReproducibleFromTheSeedAndEveryTokenKeptOnce) {
    mts::test::TempDir tmp;
    const std::vector<CorpusDocument> docs = {{"a.txt", "text", prose(60000, 5)},
                                              {"b.cpp", "code", prose(20000, 6)},
                                              {"c.md", "markdown", prose(9000, 7)}};
    build(tmp / "s1", docs, 0.1, 42);
    build(tmp / "s1again", docs, 0.1, 42);
    build(tmp / "s2", docs, 0.1, 43);
    for (const char* f : {"train.bin", "val.bin", "documents.jsonl"})
        EXPECT_EQ(readFile(tmp / "s1" / f), readFile(tmp / "s1again" / f)) << f;
    EXPECT_NE(readFile(tmp / "s1" / "val.bin"), readFile(tmp / "s2" / "val.bin"));

    // Putting each document's pieces back together gives the document (nothing lost or doubled).
    const mts::Corpus c = mts::openCorpus(tmp / "s2");
    const int32_t eos = *c.tokenizer->eosId();
    std::map<std::string, std::vector<int32_t>> ids;
    for (const auto& j : documentLines(tmp / "s2")) {
        const mts::TokenFile& f = j["split"] == "val" ? c.val : c.train;
        std::vector<int64_t> piece(j["tokens"].get<uint64_t>());
        f.read(j["offset"].get<uint64_t>(), piece.size(), piece.data());
        ASSERT_EQ(piece.back(), eos);  // every piece ends a text for the model
        piece.pop_back();
        ids[j["source"]].insert(ids[j["source"]].end(), piece.begin(), piece.end());
    }
    for (const auto& d : docs) EXPECT_EQ(c.tokenizer->decode(ids[d.source]), d.text) << d.source;
}

TEST(CorpusSplit, TheSameTextIsNeverOnBothSides) {
    mts::test::TempDir tmp;
    std::vector<CorpusDocument> docs;
    const std::string shared = prose(8000, 9);
    for (int i = 0; i < 12; ++i) docs.push_back({"copy" + std::to_string(i) + ".txt", "text", shared});
    for (int i = 0; i < 12; ++i) docs.push_back({"own" + std::to_string(i) + ".txt", "text", prose(8000, 100 + i)});
    for (uint64_t seed = 0; seed < 4; ++seed) {
        const fs::path out = tmp / ("c" + std::to_string(seed));
        build(out, docs, 0.2, seed);
        // Every copy is cut the same way and each of its pieces lands on the same side.
        std::map<std::string, std::vector<std::pair<uint64_t, std::string>>> sides;
        for (const auto& j : documentLines(out)) {
            const std::string source = j["source"];
            if (source.rfind("copy", 0) == 0) sides[source].emplace_back(j["tokens"].get<uint64_t>(), j["split"]);
        }
        ASSERT_EQ(sides.size(), 12u);
        for (const auto& [source, s] : sides) EXPECT_EQ(s, sides.begin()->second) << source << " seed " << seed;
    }
}

TEST(CorpusSplit, PlanCoversEveryTokenOnceAndDrawsFromSmallKinds) {
    std::vector<mts::detail::SplitDocument> docs = {{100000, 1, "text"}, {300, 2, "config"}, {280, 3, "config"},
                                                    {50, 4, "lonely"}};
    const auto plan = mts::detail::planChunkSplit(docs, 0.05, 0, 7);
    std::vector<uint64_t> covered(docs.size(), 0);
    uint64_t val = 0;
    std::map<std::string, uint64_t> valByKind;
    for (const auto& p : plan.pieces) {
        EXPECT_EQ(p.begin, covered[p.document]);  // in order, no gap, no overlap
        covered[p.document] += p.tokens;
        if (p.val) {
            val += p.tokens;
            valByKind[docs[p.document].kind] += p.tokens;
        }
    }
    for (size_t d = 0; d < docs.size(); ++d) EXPECT_EQ(covered[d], docs[d].tokens);
    EXPECT_NEAR(static_cast<double>(val) / 100630.0, 0.05, 0.01);
    EXPECT_GT(valByKind["config"], 0u);  // two chunks: one is lent to val
    EXPECT_EQ(plan.targetValTokens, 5032u);
    EXPECT_EQ(mts::detail::planChunkSplit(docs, 0.0, 0, 7).pieces.size(), docs.size());  // no split asked
}

}  // namespace
