// The corpus builder: one pass over the source, BPE from the spool, warnings, cancellation and
// failures that leave nothing behind, the tail split of plain text, and the manifest reader.
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mts/core/corpus/corpus.h"
#include "mts/core/corpus/corpus_builder.h"
#include "mts/core/corpus/corpus_info.h"
#include "mts/core/corpus/data_loader.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/bpe_trainer.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::readFile;

namespace fs = std::filesystem;
using namespace mts;

namespace {

std::vector<CorpusDocument> builderDocs(int n) {
    std::vector<CorpusDocument> docs;
    for (int i = 0; i < n; ++i) {
        std::string text = "Document " + std::to_string(i) + " about caf\xC3\xA9 and the quick brown fox.\n";
        for (int k = 0; k < 20 + i % 5; ++k) text += "line " + std::to_string(k) + " of the note " + std::to_string(i) + "\n";
        docs.push_back({"notes/file" + std::to_string(i) + ".txt", i % 3 ? "text" : "code", text});
    }
    return docs;
}

// A source over `docs` that counts how often the builder calls it.
struct CountingSource {
    std::vector<CorpusDocument> docs;
    int calls = 0;
    nlohmann::json operator()(const CorpusDocumentSink& sink) {
        ++calls;
        for (const auto& d : docs)
            if (!sink(d)) break;
        return {{"sources", {"notes/"}}, {"from_source", 7}};
    }
};

// Every document of a corpus (train then val, in file order), decoded and keyed by source.
std::map<std::string, std::string> decodedDocuments(const fs::path& dir) {
    const Corpus c = openCorpus(dir);
    // The chunk split ends every piece with the end id; the tail split's head part ends where
    // the document was cut.
    const bool chunks = c.manifest["split"]["by"] == "chunks";
    std::map<std::string, std::vector<int32_t>> ids;
    std::istringstream index(readFile(dir / "documents.jsonl"));
    for (std::string line; std::getline(index, line);) {
        const auto j = nlohmann::json::parse(line);
        const TokenFile& f = j["split"] == "val" ? c.val : c.train;
        std::vector<int64_t> piece(j["tokens"].get<uint64_t>());
        f.read(j["offset"].get<uint64_t>(), piece.size(), piece.data());
        if (chunks || j.value("part", 0) != 1) {
            EXPECT_EQ(piece.back(), *c.tokenizer->eosId()) << line;
            piece.pop_back();
        }
        auto& all = ids[j["source"]];
        all.insert(all.end(), piece.begin(), piece.end());
    }
    std::map<std::string, std::string> out;
    for (const auto& [source, v] : ids) out[source] = c.tokenizer->decode(v);
    return out;
}

std::set<std::string> entries(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
}

}  // namespace

TEST(CorpusBuilder, BpeIsTrainedFromOnePassAndMatchesTheTrainerOnTheSameDocuments) {
    test::TempDir dir;
    CountingSource source{builderDocs(40)};
    CorpusBuildConfig cfg;
    cfg.outDir = dir / "corpus";
    cfg.tokenizer = "bpe:300";
    cfg.valFraction = 0.2;
    cfg.minValTokens = 16;
    std::vector<CorpusBuildPhase> phases;
    const CorpusBuildResult r = buildCorpus(cfg, std::ref(source), [&](const CorpusBuildProgress& p) {
        if (phases.empty() || phases.back() != p.phase) phases.push_back(p.phase);
    });
    ASSERT_FALSE(r.cancelled);
    EXPECT_EQ(source.calls, 1);  // one pass over the sources
    EXPECT_EQ(phases, (std::vector<CorpusBuildPhase>{CorpusBuildPhase::Reading, CorpusBuildPhase::TrainingTokenizer,
                                                     CorpusBuildPhase::Writing}));
    EXPECT_EQ(r.tokenizerKind, "bpe");
    EXPECT_EQ(r.vocabSize, 300);
    EXPECT_EQ(r.summary.documents, 40u);

    // The same documents fed to the trainer directly give the same tokenizer.
    BpeTrainerConfig bc;
    bc.vocabSize = 300;
    BpeTrainer direct(bc);
    for (const auto& d : source.docs) direct.addText(d.text);
    const auto expected = direct.train().tokenizer;
    const Corpus c = openCorpus(cfg.outDir);
    EXPECT_TRUE(sameTokenizer(*c.tokenizer, *expected));

    // Every document decodes back to its text; nothing but the corpus is left beside it.
    const auto decoded = decodedDocuments(cfg.outDir);
    ASSERT_EQ(decoded.size(), source.docs.size());
    for (const auto& d : source.docs) EXPECT_EQ(decoded.at(d.source), d.text);
    EXPECT_EQ(entries(dir.path()), (std::set<std::string>{"corpus"}));

    // The manifest: the source's keys, the training record, the split.
    const auto m = nlohmann::json::parse(readFile(cfg.outDir / "manifest.json"));
    EXPECT_EQ(m["from_source"], 7);
    EXPECT_EQ(m["tokenizer_training"]["vocab_size"], 300);
    EXPECT_EQ(m["tokenizer_training"]["merges"], 300 - 257);
    EXPECT_EQ(m["split"]["by"], "chunks");
}

TEST(CorpusBuilder, BpeWarningsReachTheResultAndTheManifest) {
    test::TempDir dir;
    CountingSource source{{{"a.txt", "text", "ab ab ab ab"}, {"b.txt", "text", "cd cd cd"}}};
    CorpusBuildConfig cfg;
    cfg.outDir = dir / "corpus";
    cfg.tokenizer = "bpe:5000";  // far more than two tiny documents can support
    const CorpusBuildResult r = buildCorpus(cfg, std::ref(source));
    ASSERT_FALSE(r.cancelled);
    ASSERT_FALSE(r.warnings.empty());
    bool found = false;
    for (const auto& w : r.warnings) found = found || w.rfind("bpe: the corpus supports only", 0) == 0;
    EXPECT_TRUE(found);
    const CorpusInfo info = readCorpusInfo(cfg.outDir);
    EXPECT_EQ(info.warnings, r.warnings);
    const auto m = nlohmann::json::parse(readFile(cfg.outDir / "manifest.json"));
    EXPECT_FALSE(m["tokenizer_training"]["warnings"].empty());
    EXPECT_LT(info.vocabSize, 5000);
}

TEST(CorpusBuilder, ByteBuildEqualsTheWriterItWrapsAndAGivenTokenizerIsUsedAsIs) {
    test::TempDir dir;
    const auto docs = builderDocs(12);
    {
        const auto tok = makeByteTokenizer();
        CorpusWriterConfig wc;
        wc.outDir = dir / "writer";
        CorpusWriter w(wc, *tok);
        for (const auto& d : docs) w.add(d);
        w.finish({{"sources", {"notes/"}}, {"from_source", 7}});
    }
    CountingSource source{docs};
    CorpusBuildConfig cfg;
    cfg.outDir = dir / "built";
    buildCorpus(cfg, std::ref(source));
    for (const char* f : {"train.bin", "val.bin", "tokenizer.json", "documents.jsonl"})
        EXPECT_EQ(readFile(dir / "built" / f), readFile(dir / "writer" / f)) << f;
    EXPECT_EQ(stableManifest(nlohmann::json::parse(readFile(dir / "built" / "manifest.json"))),
              stableManifest(nlohmann::json::parse(readFile(dir / "writer" / "manifest.json"))));

    // A given tokenizer (fine-tuning) wins over the spec.
    BpeTrainerConfig bc;
    bc.vocabSize = 270;
    BpeTrainer t(bc);
    for (const auto& d : docs) t.addText(d.text);
    std::shared_ptr<const Tokenizer> given = t.train().tokenizer;
    cfg.outDir = dir / "given";
    cfg.tokenizer = "bpe:999";
    cfg.givenTokenizer = given;
    const auto r = buildCorpus(cfg, std::ref(source));
    EXPECT_EQ(r.vocabSize, 270);
    EXPECT_TRUE(sameTokenizer(*openCorpus(cfg.outDir).tokenizer, *given));
}

TEST(CorpusBuilder, BadOptionsAreRefusedBeforeReading) {
    test::TempDir dir;
    CountingSource source{builderDocs(3)};
    auto refused = [&](CorpusBuildConfig cfg, const std::string& fragment) {
        try {
            buildCorpus(cfg, std::ref(source));
            ADD_FAILURE() << "accepted; expected '" << fragment << "'";
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
        }
    };
    CorpusBuildConfig cfg;
    cfg.outDir = dir / "out";
    cfg.tokenizer = "bpe:100";
    refused(cfg, "at least 257");
    cfg.tokenizer = "bpe:lots";
    refused(cfg, "needs a number");
    cfg.tokenizer = (dir / "missing.json").string();
    refused(cfg, "missing.json");
    cfg.tokenizer = "byte";
    cfg.valFraction = 1.5;
    refused(cfg, "val_fraction");
    cfg.valFraction = 0.05;
    fs::create_directories(dir / "taken");
    cfg.outDir = dir / "taken";
    refused(cfg, "already exists");
    EXPECT_EQ(source.calls, 0);
    EXPECT_EQ(entries(dir.path()), (std::set<std::string>{"taken"}));
}

TEST(CorpusBuilder, FailuresAndCancellationLeaveNothingBehind) {
    test::TempDir dir;
    const auto docs = builderDocs(30);
    for (const std::string tokenizer : {"byte", "bpe:400"}) {
        SCOPED_TRACE(tokenizer);
        CorpusBuildConfig cfg;
        cfg.outDir = dir / "corpus";
        cfg.tokenizer = tokenizer;

        // A source that throws half way.
        auto throwing = [&](const CorpusDocumentSink& sink) -> nlohmann::json {
            for (int i = 0; i < 10; ++i) sink(docs[i]);
            throw std::runtime_error("source broke");
        };
        EXPECT_THROW(buildCorpus(cfg, throwing), std::runtime_error);
        EXPECT_TRUE(entries(dir.path()).empty());

        // A source with no documents.
        EXPECT_THROW(buildCorpus(cfg, [](const CorpusDocumentSink&) { return nlohmann::json::object(); }), ConfigError);
        EXPECT_TRUE(entries(dir.path()).empty());

        // Cancelled while reading: the sink says stop, and the source obeys.
        std::atomic<bool> cancel{false};
        int fed = 0;
        auto cancelling = [&](const CorpusDocumentSink& sink) {
            for (const auto& d : docs) {
                ++fed;
                if (fed == 5) cancel = true;
                if (!sink(d)) break;
            }
            return nlohmann::json::object();
        };
        auto r = buildCorpus(cfg, cancelling, {}, &cancel);
        EXPECT_TRUE(r.cancelled);
        EXPECT_EQ(fed, 5);
        EXPECT_TRUE(entries(dir.path()).empty());

        // Cancelled in each later phase (only BPE trains a tokenizer).
        std::vector<CorpusBuildPhase> later{CorpusBuildPhase::Writing};
        if (tokenizer != "byte") later.insert(later.begin(), CorpusBuildPhase::TrainingTokenizer);
        for (const auto phase : later) {
            cancel = false;
            CountingSource source{docs};
            r = buildCorpus(cfg, std::ref(source), [&](const CorpusBuildProgress& p) {
                if (p.phase == phase) cancel = true;
            }, &cancel);
            EXPECT_TRUE(r.cancelled);
            EXPECT_TRUE(entries(dir.path()).empty());
        }
    }
}

TEST(CorpusBuilder, TailSplitTakesTheLastTokensAndRecordsTheCutDocumentInTwoParts) {
    test::TempDir dir;
    CountingSource source{{{"a.txt", "text", std::string(100, 'a')}, {"b.txt", "text", std::string(50, 'b')}}};
    CorpusBuildConfig cfg;
    cfg.outDir = dir / "corpus";
    cfg.split = CorpusSplit::Tail;
    cfg.valFraction = 0.4;  // floor(0.4 * 152 tokens) = 60: b.txt (51 with its end id) and 9 of a.txt
    cfg.minValTokens = 10;
    const auto r = buildCorpus(cfg, std::ref(source));
    EXPECT_EQ(r.summary.trainTokens, 92u);
    EXPECT_EQ(r.summary.valTokens, 60u);
    EXPECT_EQ(r.summary.trainDocuments, 1u);
    EXPECT_EQ(r.summary.valDocuments, 2u);
    std::vector<nlohmann::json> lines;
    std::istringstream index(readFile(cfg.outDir / "documents.jsonl"));
    for (std::string line; std::getline(index, line);) lines.push_back(nlohmann::json::parse(line));
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0]["source"], "a.txt");
    EXPECT_EQ(lines[0]["part"], 1);
    EXPECT_EQ(lines[0]["tokens"], 92);
    EXPECT_EQ(lines[1]["part"], 2);
    EXPECT_EQ(lines[1]["split"], "val");
    EXPECT_EQ(lines[1]["offset"], 0);
    EXPECT_EQ(lines[1]["tokens"], 9);
    EXPECT_EQ(lines[2]["source"], "b.txt");
    EXPECT_EQ(lines[2]["offset"], 9);
    const auto decoded = decodedDocuments(cfg.outDir);
    EXPECT_EQ(decoded.at("a.txt"), std::string(100, 'a'));
    EXPECT_EQ(decoded.at("b.txt"), std::string(50, 'b'));
    EXPECT_EQ(readCorpusInfo(cfg.outDir).splitBy, "tail");
}

TEST(CorpusBuilder, TrainingOnTextLeavesNoScratchFolder) {
    test::TempDir dir;
    test::TempDir scratch;
    const char* old = std::getenv("TMPDIR");
    const std::string saved = old ? old : "";
    ::setenv("TMPDIR", scratch.path().c_str(), 1);
    std::ofstream(dir / "book.txt") << std::string(3000, 'x');
    TrainData data = openTrainData(dir / "book.txt", 0.1, 16);
    if (old)
        ::setenv("TMPDIR", saved.c_str(), 1);
    else
        ::unsetenv("TMPDIR");
    EXPECT_TRUE(entries(scratch.path()).empty());
    EXPECT_EQ(entries(dir.path()), (std::set<std::string>{"book.txt"}));
    // The mapped tokens outlive their removed files.
    EXPECT_EQ(data.train.size() + data.val.size(), 3001u);
    std::vector<int64_t> ids(16);
    data.train.read(0, 16, ids.data());
    EXPECT_EQ(ids, std::vector<int64_t>(16, 'x'));
}

namespace {

// Decoded text of a whole token stream.
std::string decodedStream(const TokenStream& stream, const Tokenizer& tok) {
    std::vector<int64_t> ids(stream.size());
    stream.read(0, ids.size(), ids.data());
    std::string text;
    for (int64_t id : ids)
        if (!(tok.eosId() && id == *tok.eosId())) text += tok.tokenBytes(static_cast<int32_t>(id));
    return text;
}

bool anyTokenHolds(const Tokenizer& tok, const std::string& piece) {
    for (int32_t id = 0; id < tok.vocabSize(); ++id)
        if (tok.tokenBytes(id).find(piece) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST(TextTokenizer, BpeIsLearnedFromTheTrainingTextAlone) {
    test::TempDir dir;
    // The training text repeats a few words; its validation tail repeats one word it never has.
    std::string head, tail;
    for (int i = 0; i < 400; ++i) head += "the king and the queen went to the castle " + std::to_string(i % 7) + "\n";
    for (int i = 0; i < 300; ++i) tail += "zyzzyva ";
    std::ofstream(dir / "book.txt") << head << tail;
    // Counted over the whole text, the tail's word is frequent enough to be merged: the check
    // below can fail.
    BpeTrainerConfig whole;
    whole.vocabSize = 320;
    BpeTrainer everything(whole);
    everything.addText(head + tail);
    ASSERT_TRUE(anyTokenHolds(*everything.train().tokenizer, "zyz"));

    const double valFraction = 0.15;
    TrainData data = openTrainData(dir / "book.txt", valFraction, 16, nullptr, nullptr, "bpe:320");
    EXPECT_EQ(data.tokenizer->kind(), "bpe");
    EXPECT_GT(data.tokenizer->vocabSize(), 270);  // up to 320: merges stop when no pair is left twice
    EXPECT_LE(data.tokenizer->vocabSize(), 320);
    EXPECT_FALSE(anyTokenHolds(*data.tokenizer, "zyz"));
    EXPECT_TRUE(anyTokenHolds(*data.tokenizer, " castle"));
    EXPECT_NE(data.description.find("learned from the first"), std::string::npos) << data.description;
    // The split is the plain tail split of those tokens: nothing lost, the tail in validation.
    const std::string train = decodedStream(data.train, *data.tokenizer), val = decodedStream(data.val, *data.tokenizer);
    EXPECT_EQ(train + val, head + tail);
    EXPECT_GE(data.train.size(), 5 * data.val.size());
    EXPECT_EQ(val.find("castle"), std::string::npos);
    // The training text is merged into long tokens; the unseen word stays in single bytes.
    EXPECT_GT(measureBytesPerToken(data.train, *data.tokenizer), 2.5);
    EXPECT_LT(data.bytesPerToken, 1.1);
    // The same text and spec give the same tokenizer (a resumed or data-parallel run relies on it).
    TrainData again = openTrainData(dir / "book.txt", valFraction, 16, nullptr, nullptr, "bpe:320");
    EXPECT_TRUE(sameTokenizer(*data.tokenizer, *again.tokenizer));
}

TEST(TextTokenizer, ByteAFileAndBadSpecs) {
    test::TempDir dir;
    std::ofstream(dir / "book.txt") << std::string(3000, 'x');
    EXPECT_EQ(openTrainData(dir / "book.txt", 0.1, 16, nullptr, nullptr, "byte").tokenizer->kind(), "byte");
    // A tokenizer.json is used as it is.
    BpeTrainerConfig bc;
    bc.vocabSize = 260;
    BpeTrainer t(bc);
    t.addText(std::string(500, 'x'));
    t.train().tokenizer->save(dir / "tokenizer.json");
    TrainData given = openTrainData(dir / "book.txt", 0.1, 16, nullptr, nullptr, (dir / "tokenizer.json").string());
    EXPECT_EQ(given.tokenizer->vocabSize(), 260);
    EXPECT_LT(given.train.size() + given.val.size(), 1000u);
    // A model's own tokenizer wins over the spec.
    std::shared_ptr<Tokenizer> bytes = makeByteTokenizer();
    EXPECT_EQ(openTrainData(dir / "book.txt", 0.1, 16, bytes, nullptr, "bpe:300").tokenizer.get(), bytes.get());
    for (const std::string& spec : std::vector<std::string>{"bpe:", "bpe:12", "bpe:many", (dir / "missing.json").string()}) {
        try {
            openTrainData(dir / "book.txt", 0.1, 16, nullptr, nullptr, spec);
            ADD_FAILURE() << spec << " was accepted";
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(spec), std::string::npos) << e.what();
        }
    }
}

TEST(CorpusInfo, ReadsTheManifestAndRefusesOtherFolders) {
    test::TempDir dir;
    CountingSource source{builderDocs(20)};
    CorpusBuildConfig cfg;
    cfg.outDir = dir / "corpus";
    cfg.valFraction = 0.25;
    const auto r = buildCorpus(cfg, [&](const CorpusDocumentSink& sink) {
        auto j = source(sink);
        j["ingest"] = {{"files_ingested", 20},
                       {"kinds", {{"text", {{"files", 13}}}, {"code", {{"files", 7}}}}},
                       {"skipped", {{{"path", "x.png"}, {"reason", "image"}, {"detail", "an image"}}}},
                       {"skipped_total", 3},
                       {"warnings", {"ingest says hi"}},
                       {"seconds", 1.5}};
        return j;
    });
    const CorpusInfo info = readCorpusInfo(cfg.outDir);
    EXPECT_EQ(info.documents, r.summary.documents);
    EXPECT_EQ(info.trainTokens, r.summary.trainTokens);
    EXPECT_EQ(info.valTokens, r.summary.valTokens);
    EXPECT_EQ(info.textBytes, r.summary.textBytes);
    EXPECT_EQ(info.files, 20u);
    ASSERT_EQ(info.kinds.size(), 2u);
    EXPECT_EQ(info.kinds[0].kind, "code");
    EXPECT_EQ(info.kinds[0].files, 7u);
    EXPECT_EQ(info.kinds[0].documents, r.summary.kinds.at("code").documents);
    EXPECT_EQ(info.kinds[1].tokens, r.summary.kinds.at("text").tokens);
    ASSERT_EQ(info.skipped.size(), 1u);
    EXPECT_EQ(info.skipped[0].reason, "image");
    EXPECT_EQ(info.skippedTotal, 3u);
    EXPECT_EQ(info.warnings.back(), "ingest says hi");
    EXPECT_EQ(info.tokenizerKind, "byte");
    EXPECT_EQ(info.vocabSize, 257);
    EXPECT_EQ(info.eosId, 256);
    EXPECT_DOUBLE_EQ(info.valFraction, 0.25);
    EXPECT_EQ(info.sources, std::vector<std::string>{"notes/"});

    // The volatile fields, and only they, are dropped for comparisons.
    const auto m = nlohmann::json::parse(readFile(cfg.outDir / "manifest.json"));
    const auto stable = stableManifest(m);
    EXPECT_TRUE(m.contains("created"));
    EXPECT_FALSE(stable.contains("created"));
    EXPECT_FALSE(stable["ingest"].contains("seconds"));
    EXPECT_EQ(stable.size(), m.size() - 1);
    EXPECT_EQ(stable["ingest"].size(), m["ingest"].size() - 1);

    fs::create_directories(dir / "plain");
    EXPECT_THROW(readCorpusInfo(dir / "plain"), FormatError);
    std::ofstream(dir / "plain" / "manifest.json") << R"({"format": "something-else"})";
    EXPECT_THROW(readCorpusInfo(dir / "plain"), FormatError);
}
