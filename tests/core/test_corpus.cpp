// Token files, the corpus writer (split, atomic rename, abort) and openCorpus on bad input.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mts/core/corpus/corpus.h"
#include "mts/core/corpus/corpus_writer.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::readFile;
using mts::test::writeFile;

namespace fs = std::filesystem;

namespace {

template <typename F>
void expectCorpusError(F&& f, const std::string& fragment) {
    try {
        f();
        ADD_FAILURE() << "no FormatError (expected '" << fragment << "')";
    } catch (const mts::FormatError& e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

std::vector<mts::CorpusDocument> sampleDocs(int n) {
    std::vector<mts::CorpusDocument> docs;
    for (int i = 0; i < n; ++i)
        docs.push_back({"notes/file" + std::to_string(i) + ".txt", i % 3 ? "text" : "code",
                        "Document " + std::to_string(i) + ": caf\xC3\xA9, " + std::string(i % 7 + 1, 'x') + "\n"});
    return docs;
}

std::vector<int32_t> readTokens(const mts::TokenFile& f, uint64_t start, uint64_t n) {
    std::vector<int64_t> buf(n);
    f.read(start, n, buf.data());
    return std::vector<int32_t>(buf.begin(), buf.end());
}

// Writes a corpus of `docs` with the byte tokenizer.
mts::CorpusSummary writeCorpus(const fs::path& out, const std::vector<mts::CorpusDocument>& docs,
                               double valFraction, uint64_t minVal, int threads = 2,
                               mts::CorpusSplit split = mts::CorpusSplit::Chunks) {
    const auto tok = mts::makeByteTokenizer();
    mts::CorpusWriterConfig cfg;
    cfg.outDir = out;
    cfg.split = split;
    cfg.valFraction = valFraction;
    cfg.minValTokens = minVal;
    cfg.threads = threads;
    cfg.batchBytes = 64;  // several batches even for small inputs
    mts::CorpusWriter writer(cfg, *tok);
    for (const auto& d : docs) writer.add(d);
    return writer.finish({{"sources", {"notes/"}}, {"skipped", nlohmann::json::array()}});
}

}  // namespace

TEST(TokenFile, WritesAndMapsBothDtypes) {
    mts::test::TempDir dir;
    for (uint32_t dtype : {2u, 4u}) {
        const fs::path p = dir / ("t" + std::to_string(dtype) + ".bin");
        std::vector<int32_t> ids{0, 1, 65535, 42};
        if (dtype == 4) ids.push_back(70000);
        {
            mts::TokenFileWriter w(p, dtype);
            w.append(ids);
            w.append(std::vector<int32_t>{7});
            EXPECT_EQ(w.readBack(2, 2), (std::vector<int32_t>{65535, 42}));
            w.truncate(ids.size());
            w.append(std::vector<int32_t>{9});
            w.finish();
        }
        mts::TokenFile f(p);
        ids.push_back(9);
        ASSERT_EQ(f.size(), ids.size());
        EXPECT_EQ(f.dtypeBytes(), dtype);
        EXPECT_EQ(readTokens(f, 0, ids.size()), ids);
        EXPECT_EQ(f.at(2), 65535u);
        EXPECT_THROW(f.at(ids.size()), std::out_of_range);
        EXPECT_EQ(fs::file_size(p), mts::kTokenFileHeaderBytes + ids.size() * dtype);
    }
    mts::TokenFileWriter w(dir / "small.bin", 2);
    EXPECT_THROW(w.append(std::vector<int32_t>{70000}), std::runtime_error);
}

TEST(TokenFile, RejectsMalformedFiles) {
    mts::test::TempDir dir;
    const fs::path good = dir / "good.bin";
    {
        mts::TokenFileWriter w(good, 2);
        w.append(std::vector<int32_t>{1, 2, 3, 4});
        w.finish();
    }
    const std::string bytes = readFile(good);
    std::string bad = bytes;
    bad[0] = 'X';
    writeFile(dir / "magic.bin", bad);
    expectCorpusError([&] { mts::TokenFile f(dir / "magic.bin"); }, "bad magic");
    writeFile(dir / "trunc.bin", bytes.substr(0, bytes.size() - 1));
    expectCorpusError([&] { mts::TokenFile f(dir / "trunc.bin"); }, "does not match");
    writeFile(dir / "extra.bin", bytes + "ab");
    expectCorpusError([&] { mts::TokenFile f(dir / "extra.bin"); }, "does not match");
    writeFile(dir / "short.bin", bytes.substr(0, 10));
    expectCorpusError([&] { mts::TokenFile f(dir / "short.bin"); }, "too short");
    bad = bytes;
    bad[8] = 9;
    writeFile(dir / "version.bin", bad);
    expectCorpusError([&] { mts::TokenFile f(dir / "version.bin"); }, "version");
    bad = bytes;
    bad[12] = 3;
    writeFile(dir / "dtype.bin", bad);
    expectCorpusError([&] { mts::TokenFile f(dir / "dtype.bin"); }, "dtype");
    bad = bytes;
    bad[23] = 0x7F;  // absurd count
    writeFile(dir / "count.bin", bad);
    expectCorpusError([&] { mts::TokenFile f(dir / "count.bin"); }, "does not match");
    {
        mts::TokenFileWriter w(dir / "unfinished.bin", 2);
        w.append(std::vector<int32_t>{1, 2});
        w.close();
    }
    expectCorpusError([&] { mts::TokenFile f(dir / "unfinished.bin"); }, "bad magic");
    expectCorpusError([&] { mts::TokenFile f(dir / "none.bin"); }, "cannot open");
}

TEST(CorpusWriter, RoundTripsDocumentsThroughOpenCorpus) {
    mts::test::TempDir dir;
    const auto docs = sampleDocs(40);
    const auto summary = writeCorpus(dir / "corpus", docs, 0.25, 0);
    EXPECT_EQ(summary.documents, 40u);
    EXPECT_GT(summary.valDocuments, 0u);
    EXPECT_GT(summary.trainDocuments, 0u);
    EXPECT_EQ(summary.trainDocuments + summary.valDocuments, 40u);
    EXPECT_EQ(summary.kinds.at("code").documents, 14u);
    const mts::Corpus c = mts::openCorpus(dir / "corpus");
    EXPECT_EQ(c.train.size(), summary.trainTokens);
    EXPECT_EQ(c.val.size(), summary.valTokens);
    EXPECT_EQ(c.manifest["sources"][0], "notes/");
    EXPECT_EQ(c.manifest["tokens"]["train"], summary.trainTokens);
    EXPECT_EQ(c.manifest["dtype"], "uint16");
    EXPECT_EQ(c.tokenizer->kind(), "byte");
    // documents.jsonl gives back every document exactly, followed by the end-of-document id.
    std::ifstream index(dir / "corpus" / "documents.jsonl");
    std::string line;
    std::map<std::string, std::string> decoded;
    while (std::getline(index, line)) {
        const auto j = nlohmann::json::parse(line);
        const mts::TokenFile& f = j["split"] == "val" ? c.val : c.train;
        auto ids = readTokens(f, j["offset"].get<uint64_t>(), j["tokens"].get<uint64_t>());
        ASSERT_EQ(ids.back(), 256);
        ids.pop_back();
        decoded[j["source"].get<std::string>()] = c.tokenizer->decode(ids);
    }
    ASSERT_EQ(decoded.size(), docs.size());
    for (const auto& d : docs) EXPECT_EQ(decoded[d.source], d.text);
    // No temporary directory is left behind.
    for (const auto& e : fs::directory_iterator(dir.path()))
        EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos);
}

TEST(CorpusWriter, SplitIsDeterministicAndIndependentOfThreads) {
    mts::test::TempDir dir;
    const auto docs = sampleDocs(30);
    writeCorpus(dir / "a", docs, 0.3, 0, 1);
    writeCorpus(dir / "b", docs, 0.3, 0, 4);
    EXPECT_EQ(readFile(dir / "a" / "train.bin"), readFile(dir / "b" / "train.bin"));
    EXPECT_EQ(readFile(dir / "a" / "val.bin"), readFile(dir / "b" / "val.bin"));
    EXPECT_EQ(readFile(dir / "a" / "documents.jsonl"), readFile(dir / "b" / "documents.jsonl"));
}

TEST(CorpusWriter, TopsUpValidationToTheMinimum) {
    mts::test::TempDir dir;
    // One document only: its tail is split off into val.
    const std::string text(1000, 'q');
    const auto s = writeCorpus(dir / "one", {{"only.txt", "text", text}}, 0.0, 100, 2, mts::CorpusSplit::ByDocument);
    EXPECT_EQ(s.valTokens, 100u);
    EXPECT_EQ(s.trainTokens, 901u);
    EXPECT_FALSE(s.warnings.empty());
    const auto c = mts::openCorpus(dir / "one");
    auto all = readTokens(c.train, 0, c.train.size());
    const auto tail = readTokens(c.val, 0, c.val.size());
    all.insert(all.end(), tail.begin(), tail.end());
    EXPECT_EQ(all.back(), 256);
    all.pop_back();
    EXPECT_EQ(c.tokenizer->decode(all), text);
    // Many documents and no hashed val: whole documents move from the end of train.
    const auto m = writeCorpus(dir / "many", sampleDocs(20), 0.0, 60, 2, mts::CorpusSplit::ByDocument);
    EXPECT_GE(m.valTokens, 60u);
    EXPECT_GT(m.valDocuments, 1u);
    EXPECT_EQ(m.trainDocuments + m.valDocuments, 20u);
    EXPECT_NO_THROW(mts::openCorpus(dir / "many"));
}

TEST(CorpusWriter, AbortLeavesNothingThatLooksFinished) {
    mts::test::TempDir dir;
    const auto tok = mts::makeByteTokenizer();
    mts::CorpusWriterConfig cfg;
    cfg.outDir = dir / "out";
    {
        mts::CorpusWriter writer(cfg, *tok);
        writer.add({"a.txt", "text", "hello"});
        EXPECT_FALSE(fs::exists(cfg.outDir));
    }  // destroyed without finish()
    EXPECT_FALSE(fs::exists(cfg.outDir));
    EXPECT_TRUE(fs::is_empty(dir.path()));
    {
        mts::CorpusWriter writer(cfg, *tok);
        writer.add({"a.txt", "text", "hello"});
        writer.abort();
        EXPECT_THROW(writer.add({"b.txt", "text", "x"}), std::runtime_error);
    }
    EXPECT_TRUE(fs::is_empty(dir.path()));
    writeCorpus(cfg.outDir, sampleDocs(3), 0.5, 0);
    EXPECT_THROW(mts::CorpusWriter(cfg, *tok), std::runtime_error);  // exists, no overwrite
    cfg.overwrite = true;
    {
        mts::CorpusWriter writer(cfg, *tok);
        writer.add({"new.txt", "text", "replacement"});
        writer.finish();
    }
    const auto c = mts::openCorpus(cfg.outDir);
    EXPECT_EQ(c.manifest["documents"]["total"], 1);
}

TEST(OpenCorpus, RejectsMissingAndCorruptPieces) {
    mts::test::TempDir dir;
    const fs::path good = dir / "good";
    writeCorpus(good, sampleDocs(10), 0.3, 20);
    auto copy = [&](const std::string& name) {
        const fs::path p = dir / name;
        fs::copy(good, p, fs::copy_options::recursive);
        return p;
    };
    fs::path p = copy("nomanifest");
    fs::remove(p / "manifest.json");
    expectCorpusError([&] { mts::openCorpus(p); }, "manifest.json");
    p = copy("badmanifest");
    writeFile(p / "manifest.json", "{\"format\": ");
    expectCorpusError([&] { mts::openCorpus(p); }, "not valid JSON");
    p = copy("notcorpus");
    writeFile(p / "manifest.json", "{\"format\": \"other\"}");
    expectCorpusError([&] { mts::openCorpus(p); }, "not an mts-corpus");
    p = copy("count");
    auto manifest = nlohmann::json::parse(readFile(p / "manifest.json"));
    manifest["tokens"]["train"] = manifest["tokens"]["train"].get<uint64_t>() + 1;
    writeFile(p / "manifest.json", manifest.dump());
    expectCorpusError([&] { mts::openCorpus(p); }, "manifest.json says");
    p = copy("noval");
    fs::remove(p / "val.bin");
    expectCorpusError([&] { mts::openCorpus(p); }, "val.bin");
    p = copy("magic");
    std::string bytes = readFile(p / "train.bin");
    bytes[1] = '?';
    writeFile(p / "train.bin", bytes);
    expectCorpusError([&] { mts::openCorpus(p); }, "bad magic");
    p = copy("truncated");
    bytes = readFile(p / "train.bin");
    writeFile(p / "train.bin", bytes.substr(0, bytes.size() - 2));
    expectCorpusError([&] { mts::openCorpus(p); }, "does not match");
    p = copy("notok");
    fs::remove(p / "tokenizer.json");
    expectCorpusError([&] { mts::openCorpus(p); }, "tokenizer.json");
    p = copy("badid");
    bytes = readFile(p / "train.bin");
    bytes[mts::kTokenFileHeaderBytes] = '\xFF';
    bytes[mts::kTokenFileHeaderBytes + 1] = '\x01';  // id 511 > 256
    writeFile(p / "train.bin", bytes);
    expectCorpusError([&] { mts::openCorpus(p); }, "outside the vocabulary");
    EXPECT_NO_THROW(mts::openCorpus(p, /*verifyIds=*/false));
}
