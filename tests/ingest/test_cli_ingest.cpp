// End to end through mamba-studio-cli: ingest -> corpus files -> decode = the clean documents.
// Skipped when the CLI has not been built (the ingest tests do not depend on it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "command_run.h"
#include "mts/ingest/ingest.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::readFile;
using mts::test::writeFile;

using namespace mts::ingest;
namespace fs = std::filesystem;

namespace {

// Byte-tokenizer corpus file -> documents (ids < 256 are bytes, 256 ends a document).
std::vector<std::string> decodeByteCorpus(const fs::path& bin) {
    const std::string raw = readFile(bin);
    EXPECT_GE(raw.size(), 32u);
    EXPECT_EQ(std::memcmp(raw.data(), "MTSTOK\0\0", 8), 0);
    uint32_t dtype = 0;
    uint64_t count = 0;
    std::memcpy(&dtype, raw.data() + 12, 4);
    std::memcpy(&count, raw.data() + 16, 8);
    EXPECT_EQ(dtype, 2u);
    EXPECT_EQ(raw.size(), 32 + count * 2);
    std::vector<std::string> docs;
    std::string cur;
    for (uint64_t i = 0; i < count; ++i) {
        uint16_t id;
        std::memcpy(&id, raw.data() + 32 + i * 2, 2);
        if (id == 256) {
            docs.push_back(cur);
            cur.clear();
        } else {
            EXPECT_LT(id, 256);
            cur.push_back(static_cast<char>(id));
        }
    }
    EXPECT_TRUE(cur.empty()) << "corpus does not end with end-of-document";
    return docs;
}

// The corpus's documents, whole again: the pieces of each split (its lines of documents.jsonl,
// in order) joined by source. The validation split cuts documents into pieces.
std::vector<std::string> decodeByteDocuments(const fs::path& corpus) {
    std::map<std::string, std::vector<std::string>> pieces{{"train", decodeByteCorpus(corpus / "train.bin")},
                                                          {"val", decodeByteCorpus(corpus / "val.bin")}};
    std::map<std::string, size_t> next;
    std::map<std::string, std::string> bySource;
    std::istringstream index(readFile(corpus / "documents.jsonl"));
    for (std::string line; std::getline(index, line);) {
        const auto j = nlohmann::json::parse(line);
        const std::string split = j["split"];
        EXPECT_LT(next[split], pieces[split].size()) << line;
        if (next[split] < pieces[split].size()) bySource[j["source"]] += pieces[split][next[split]++];
    }
    EXPECT_EQ(next["train"], pieces["train"].size());
    EXPECT_EQ(next["val"], pieces["val"].size());
    std::vector<std::string> docs;
    for (auto& [source, text] : bySource) docs.push_back(std::move(text));
    return docs;
}

}  // namespace

TEST(CliIngest, CorpusDecodesToTheCleanDocuments) {
    const fs::path cli = mts::test::cliPath();
    ASSERT_TRUE(fs::exists(cli)) << "mamba-studio-cli not built: " << cli;
    mts::test::TempDir tmp;
    const fs::path src = tmp / "src";
    // ~1 KB per note, so the 30 % validation share is well over the writer's 4096-token minimum.
    std::string filler;
    for (int k = 0; k < 25; ++k) filler += "Filler sentence number " + std::to_string(k) + ".\n";
    for (int i = 0; i < 30; ++i)
        writeFile(src / ("note" + std::to_string(i) + ".txt"),
                  "Note " + std::to_string(i) + "\r\nwith caf\xC3\xA9 and e\xCC\x81 and a \xFF byte.\n\n\n\n" + filler + "End.");
    writeFile(src / "data.jsonl", "{\"text\": \"record one\"}\n{\"text\": \"record two\"}\n");
    writeFile(src / "copy.txt", "Note 3\nwith caf\xC3\xA9 and \xC3\xA9 and a \xEF\xBF\xBD byte.\n\n" + filler + "End.");  // duplicate after cleaning
    writeFile(src / "image.png", "\x89PNG\r\n\x1a\n");

    const fs::path out = tmp / "corpus";
    const std::string cmd = "'" + cli.string() + "' -q ingest '" + src.string() + "' --out '" + out.string() +
                            "' --val-fraction 0.3 > '" + (tmp / "stdout.txt").string() + "' 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << readFile(tmp / "stdout.txt");
    EXPECT_NE(readFile(tmp / "stdout.txt").find("total"), std::string::npos);
    // Both token counts are reported, per kind and in all.
    EXPECT_NE(readFile(tmp / "stdout.txt").find("val tokens"), std::string::npos);
    EXPECT_NE(readFile(tmp / "stdout.txt").find("% of tokens)"), std::string::npos);
    for (const char* f : {"manifest.json", "tokenizer.json", "train.bin", "val.bin", "documents.jsonl"})
        EXPECT_TRUE(fs::exists(out / f)) << f;

    // The same sources through the library give the documents the corpus must hold.
    IngestOptions opt;
    opt.sources = {src};
    std::vector<std::string> expected;
    ingest(opt, [&](const Document& d) { return expected.push_back(d.text), true; });
    std::vector<std::string> got = decodeByteDocuments(out);
    std::sort(expected.begin(), expected.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(expected.size(), 32u);  // 30 notes + 2 records; copy.txt is a duplicate
    EXPECT_EQ(got, expected);

    nlohmann::json manifest = nlohmann::json::parse(readFile(out / "manifest.json"));
    ASSERT_TRUE(manifest.contains("ingest"));
    EXPECT_EQ(manifest["ingest"]["duplicates"]["exact"], 1);
    EXPECT_EQ(manifest["ingest"]["skipped_by_reason"]["image"], 1);
    EXPECT_EQ(manifest["ingest"]["utf8"]["repaired_files"], 30);
    // The split holds the share of tokens asked for (+-20 %), from both kinds.
    const double val = manifest["tokens"]["val"].get<double>();
    EXPECT_NEAR(val / (manifest["tokens"]["train"].get<double>() + val), 0.3, 0.3 * 0.2);
    EXPECT_GT(manifest["kinds"]["text"]["val_tokens"].get<uint64_t>(), 0u);

    // An existing --out is refused without --overwrite; nothing is half-written.
    const std::string again = "'" + cli.string() + "' -q ingest '" + src.string() + "' --out '" + out.string() +
                              "' > /dev/null 2>&1";
    EXPECT_NE(std::system(again.c_str()), 0);
    // Sources with nothing usable: an error, and no corpus folder.
    writeFile(tmp / "empty-src" / "only.png", "\x89PNG\r\n\x1a\n");
    const std::string none = "'" + cli.string() + "' -q ingest '" + (tmp / "empty-src").string() + "' --out '" +
                             (tmp / "none").string() + "' > /dev/null 2>&1";
    EXPECT_NE(std::system(none.c_str()), 0);
    EXPECT_FALSE(fs::exists(tmp / "none"));
}
