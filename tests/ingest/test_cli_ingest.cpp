// End to end through mamba-studio-cli: ingest -> corpus files -> decode = the clean documents.
// Skipped when the CLI has not been built (the ingest tests do not depend on it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "command_run.h"
#include "mts/ingest/ingest.h"
#include "shared_data.h"

using namespace mts::ingest;
namespace fs = std::filesystem;

namespace {

void writeFile(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
}

std::string readFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

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

}  // namespace

TEST(CliIngest, CorpusDecodesToTheCleanDocuments) {
    const fs::path cli = mts::test::cliPath();
    ASSERT_TRUE(fs::exists(cli)) << "mamba-studio-cli not built: " << cli;
    mts::test::TempDir tmp;
    const fs::path src = tmp / "src";
    // ~1 KB per note, so the 30 % validation share (by hash) is well over the writer's
    // 4096-token minimum and no document has to be split to top it up.
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
    for (const char* f : {"manifest.json", "tokenizer.json", "train.bin", "val.bin", "documents.jsonl"})
        EXPECT_TRUE(fs::exists(out / f)) << f;

    // The same sources through the library give the documents the corpus must hold.
    IngestOptions opt;
    opt.sources = {src};
    std::vector<std::string> expected;
    ingest(opt, [&](const Document& d) { return expected.push_back(d.text), true; });
    std::vector<std::string> got = decodeByteCorpus(out / "train.bin");
    for (auto& d : decodeByteCorpus(out / "val.bin")) got.push_back(d);
    std::sort(expected.begin(), expected.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(expected.size(), 32u);  // 30 notes + 2 records; copy.txt is a duplicate
    EXPECT_EQ(got, expected);

    nlohmann::json manifest = nlohmann::json::parse(readFile(out / "manifest.json"));
    ASSERT_TRUE(manifest.contains("ingest"));
    EXPECT_EQ(manifest["ingest"]["duplicates"]["exact"], 1);
    EXPECT_EQ(manifest["ingest"]["skipped_by_reason"]["image"], 1);
    EXPECT_EQ(manifest["ingest"]["utf8"]["repaired_files"], 30);

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
