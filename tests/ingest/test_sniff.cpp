// Issue #14 item 2: unknown or ambiguous extensions are decided by content. WikiText-2's raw
// release (wiki.train.raw) is text; a real .raw image or a binary .dat stays skipped, with the
// reason named.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "mts/ingest/detect.h"
#include "mts/ingest/ingest.h"
#include "shared_data.h"
#include "test_files.h"
#include "ingest_test_support.h"

using mts::test::reasonFor;
using mts::test::writeFile;

using namespace mts::ingest;
namespace fs = std::filesystem;

namespace {

const std::string kWikiText =
    " \n = Homarus gammarus = \n \n Homarus gammarus , known as the European lobster or common lobster , is a "
    "species of <unk> lobster from the eastern Atlantic Ocean , Mediterranean Sea and parts of the Black Sea . \n";

}  // namespace

TEST(Sniff, AmbiguousExtensionsAreDecidedByContent) {
    const Detection byName = detectByName("wiki.train.raw");
    EXPECT_EQ(byName.cls, FileClass::Skip);
    EXPECT_TRUE(byName.sniff);
    EXPECT_EQ(detect("wiki.train.raw", kWikiText).cls, FileClass::Text);
    EXPECT_EQ(detect("table.dat", "1 2 3\n4 5 6\n").cls, FileClass::Text);
    const std::string pixels("\x10\x20\x00\x00\x7f\x01\x02\x03", 8);
    Detection img = detect("frame.raw", pixels);
    EXPECT_EQ(img.cls, FileClass::Skip);
    EXPECT_EQ(img.reason, "image");
    Detection dat = detect("blob.dat", std::string("\x01\x02\x03\x04\x05\x06 abc", 10));
    EXPECT_EQ(dat.cls, FileClass::Skip);
    EXPECT_EQ(dat.reason, "binary");
    // Unknown extensions: control bytes without NUL are not text either.
    EXPECT_EQ(detect("x.unknownext", std::string(50, '\x02') + "abc").reason, "binary");
    EXPECT_EQ(detect("x.unknownext", "plain words\n").cls, FileClass::Text);
    // Unambiguous names are not sniffed: a .png is skipped by name.
    EXPECT_FALSE(detectByName("a.png").sniff);
    EXPECT_EQ(detect("a.png", "plain words").reason, "image");
}

TEST(Sniff, WikiTextRawFilesAreIngestedAsText) {
    mts::test::TempDir tmp;
    const fs::path root = tmp.path() / "wikitext-2-raw";
    std::string train;
    for (int i = 0; i < 200; ++i) train += kWikiText + " Paragraph " + std::to_string(i) + " .\n";
    writeFile(root / "wiki.train.raw", train);
    writeFile(root / "wiki.valid.raw", " = Valid = \n Some validation text .\n");
    // A headerless camera/sensor dump: binary, stays an image.
    std::string pixels;
    for (int i = 0; i < 20000; ++i) pixels.push_back(static_cast<char>((i * 37) & 0xFF));
    writeFile(root / "sensor.raw", pixels);
    writeFile(root / "weights.bin", std::string("\x93\x01\x00\x00", 4) + std::string(3000, '\x05'));
    // Text in the first 8 KiB, a NUL later: not text (the whole file is checked).
    writeFile(root / "late-nul.dat", std::string(9000, 'a') + std::string("\0", 1) + "tail");
    writeFile(root / "notes.unknownext", "Unknown extension, plain UTF-8 words.\n");

    IngestOptions opt;
    opt.sources = {root};
    opt.threads = 1;
    std::map<std::string, Document> docs;
    IngestResult r = ingest(opt, [&](const Document& d) {
        docs[fs::path(d.source).filename().string()] = d;
        return true;
    });
    ASSERT_EQ(docs.count("wiki.train.raw"), 1u) << "skipped as: " << reasonFor(r, "wiki.train.raw");
    EXPECT_EQ(docs["wiki.train.raw"].kind, "text");
    EXPECT_NE(docs["wiki.train.raw"].text.find("Homarus gammarus"), std::string::npos);
    EXPECT_EQ(docs.count("wiki.valid.raw"), 1u);
    EXPECT_EQ(docs.count("notes.unknownext"), 1u);
    EXPECT_EQ(reasonFor(r, "sensor.raw"), "image");
    EXPECT_EQ(reasonFor(r, "weights.bin"), "binary");
    EXPECT_EQ(reasonFor(r, "late-nul.dat"), "binary");
    EXPECT_EQ(docs.size(), 3u);
}

// The real data set file (WikiText-2 valid split, renamed as the raw release names it).
TEST(Sniff, SharedWikiTextAsRaw) {
    MTS_REQUIRE_SHARED(valid, "data/wikitext-2/valid.txt");
    mts::test::TempDir tmp;
    std::ifstream in(valid, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    writeFile(tmp.path() / "wiki.valid.raw", ss.str());
    IngestOptions opt;
    opt.sources = {tmp.path() / "wiki.valid.raw"};
    size_t bytes = 0;
    IngestResult r = ingest(opt, [&](const Document& d) {
        bytes += d.text.size();
        return true;
    });
    EXPECT_EQ(r.documents, 1u) << (r.skipped.empty() ? "" : r.skipped[0].reason);
    EXPECT_GT(bytes, 1000000u);
}
