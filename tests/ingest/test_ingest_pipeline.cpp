#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "mts/ingest/ingest.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::writeFile;

using namespace mts::ingest;
namespace fs = std::filesystem;

namespace {

std::vector<Document> collect(const IngestOptions& opt, IngestResult* result = nullptr) {
    std::vector<Document> docs;
    IngestResult r = ingest(opt, [&](const Document& d) {
        docs.push_back(d);
        return true;
    });
    if (result) *result = r;
    return docs;
}

std::string paragraph(int seed, int words) {
    std::string s;
    for (int i = 0; i < words; ++i) s += "w" + std::to_string((seed * 7919 + i * 104729) % 100000) + " ";
    return s;
}

}  // namespace

TEST(IngestPipeline, KindsRecordsAndCleaning) {
    mts::test::TempDir tmp;
    writeFile(tmp / "a.txt", "Windows\r\nline ends\r\n\r\n\r\n\r\nand e\xCC\x81 to NFC");
    writeFile(tmp / "b.html", "<html><body><p>Hello <b>there</b></p><script>x()</script></body></html>");
    writeFile(tmp / "c.py", "def f():\n    return 1\n");
    writeFile(tmp / "d.yaml", "key: value\n");
    writeFile(tmp / "e.jsonl", "{\"text\": \"record zero\"}\n{\"text\": \"record one\"}\n");
    writeFile(tmp / "f.csv", "id,text\n1,csv row one\n2,\"csv, row two\"\n");
    writeFile(tmp / "g.json", "[{\"content\": \"json record\"}]");
    writeFile(tmp / "h.json", "{\"name\": \"a config file\"}");
    IngestResult r;
    auto docs = collect([&] {
        IngestOptions o;
        o.sources = {tmp.path()};
        return o;
    }(), &r);
    std::map<std::string, const Document*> by;
    for (const auto& d : docs) by[fs::path(d.source).filename().string()] = &d;
    ASSERT_TRUE(by.count("a.txt"));
    EXPECT_EQ(by["a.txt"]->text, "Windows\nline ends\n\nand \xC3\xA9 to NFC");
    EXPECT_EQ(by["a.txt"]->kind, "text");
    EXPECT_EQ(by["b.html"]->kind, "html");
    EXPECT_EQ(by["b.html"]->text, "Hello there");
    EXPECT_EQ(by["c.py"]->kind, "code");
    EXPECT_EQ(by["c.py"]->meta["language"], "python");
    EXPECT_EQ(by["c.py"]->text, "def f():\n    return 1");
    EXPECT_EQ(by["d.yaml"]->kind, "config");
    EXPECT_EQ(by["e.jsonl#1"]->text, "record one");
    EXPECT_EQ(by["e.jsonl#1"]->kind, "records");
    EXPECT_EQ(by["f.csv#1"]->text, "csv, row two");
    EXPECT_EQ(by["g.json#0"]->text, "json record");
    EXPECT_EQ(by["h.json"]->kind, "config");
    EXPECT_EQ(r.kinds["records"].documents, 5u);
    EXPECT_EQ(r.kinds["records"].files, 3u);
    EXPECT_EQ(r.documents, docs.size());
}

TEST(IngestPipeline, DeterministicOrderAcrossThreadCounts) {
    mts::test::TempDir tmp;
    for (int i = 0; i < 200; ++i) writeFile(tmp / ("d" + std::to_string(i % 7)) / ("f" + std::to_string(i) + ".txt"), paragraph(i, 20));
    IngestOptions opt;
    opt.sources = {tmp.path()};
    opt.threads = 1;
    auto one = collect(opt);
    opt.threads = 4;
    auto four = collect(opt);
    ASSERT_EQ(one.size(), 200u);
    ASSERT_EQ(one.size(), four.size());
    for (size_t i = 0; i < one.size(); ++i) EXPECT_EQ(one[i].source, four[i].source);
    EXPECT_TRUE(std::is_sorted(one.begin(), one.end(), [](const Document& a, const Document& b) {
        return fs::path(a.source).parent_path() < fs::path(b.source).parent_path();
    }));
}

TEST(IngestPipeline, ExactAndNearDuplicates) {
    mts::test::TempDir tmp;
    const std::string text = paragraph(1, 400);
    writeFile(tmp / "a.txt", text);
    writeFile(tmp / "b.txt", text);                            // exact copy
    std::string near = text;
    near.replace(near.find(' ', 100), 1, " inserted ");
    writeFile(tmp / "c.txt", near);                            // near copy
    writeFile(tmp / "d.txt", paragraph(2, 400));               // different
    IngestOptions opt;
    opt.sources = {tmp.path()};
    IngestResult r;
    EXPECT_EQ(collect(opt, &r).size(), 3u);
    EXPECT_EQ(r.exactDuplicates, 1u);
    EXPECT_EQ(r.nearDuplicates, 0u);
    EXPECT_EQ(r.skippedByReason["duplicate"], 1u);
    opt.nearDedup = true;
    EXPECT_EQ(collect(opt, &r).size(), 2u);
    EXPECT_EQ(r.nearDuplicates, 1u);
}

TEST(IngestPipeline, CancelAndSinkStop) {
    mts::test::TempDir tmp;
    for (int i = 0; i < 300; ++i) writeFile(tmp / ("f" + std::to_string(i) + ".txt"), paragraph(i, 5));
    std::atomic<bool> cancel{false};
    IngestOptions opt;
    opt.sources = {tmp.path()};
    opt.cancel = &cancel;
    opt.threads = 2;
    size_t n = 0;
    IngestResult r = ingest(opt, [&](const Document&) {
        if (++n == 10) cancel = true;
        return true;
    });
    EXPECT_TRUE(r.cancelled);
    EXPECT_EQ(n, 10u);
    EXPECT_EQ(r.documents, 10u);

    cancel = false;
    n = 0;
    r = ingest(opt, [&](const Document&) { return ++n < 5; });
    EXPECT_TRUE(r.stoppedBySink);
    EXPECT_EQ(n, 5u);

    // An exception from the sink propagates after the workers are joined.
    EXPECT_THROW(ingest(opt, [](const Document&) -> bool { throw std::runtime_error("sink failed"); }), std::runtime_error);
}

TEST(IngestPipeline, ProgressReachesTotal) {
    mts::test::TempDir tmp;
    for (int i = 0; i < 50; ++i) writeFile(tmp / ("f" + std::to_string(i) + ".md"), paragraph(i, 30));
    IngestOptions opt;
    opt.sources = {tmp.path()};
    IngestProgress last;
    int calls = 0;
    ingest(opt, [](const Document&) { return true; }, [&](const IngestProgress& p) {
        ++calls;
        EXPECT_LE(p.filesDone, p.filesTotal);
        last = p;
    });
    EXPECT_GE(calls, 2);
    EXPECT_EQ(last.filesTotal, 50u);
    EXPECT_EQ(last.filesDone, 50u);
    EXPECT_EQ(last.documents, 50u);
    EXPECT_EQ(last.bytesDone, last.bytesTotal);
}

TEST(IngestPipeline, MissingSourcesAndUtf8SkipPolicy) {
    mts::test::TempDir tmp;
    writeFile(tmp / "latin1.txt", "caf\xE9 cr\xE8me");
    IngestOptions opt;
    opt.sources = {tmp / "nope", tmp / "latin1.txt"};
    opt.utf8Policy = Utf8Policy::Skip;
    IngestResult r;
    EXPECT_TRUE(collect(opt, &r).empty());
    EXPECT_EQ(r.skippedByReason["not-found"], 1u);
    EXPECT_EQ(r.skippedByReason["invalid-utf8"], 1u);
    opt.utf8Policy = Utf8Policy::Repair;
    auto docs = collect(opt, &r);
    ASSERT_EQ(docs.size(), 1u);
    EXPECT_EQ(docs[0].text, "caf\xEF\xBF\xBD cr\xEF\xBF\xBDme");
    EXPECT_EQ(r.utf8Replacements, 2u);
}

TEST(IngestPipeline, PdfCacheReusedWhenUnchanged) {
    MTS_REQUIRE_SHARED(pdf, "data/pdfs/pdflatex-4-pages.pdf");
    mts::test::TempDir tmp;
    fs::copy_file(pdf, tmp / "doc.pdf");
    IngestOptions opt;
    opt.sources = {tmp / "doc.pdf"};
    opt.cacheDir = tmp / "cache";
    IngestResult r1, r2, r3;
    auto first = collect(opt, &r1);
    auto second = collect(opt, &r2);
    ASSERT_EQ(first.size(), 1u);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(r1.cacheHits, 0u);
    EXPECT_EQ(r2.cacheHits, 1u);
    EXPECT_EQ(first[0].text, second[0].text);
    EXPECT_EQ(second[0].meta["pages"], 4);
    // A changed file (different size and mtime) is extracted again.
    { std::ofstream(tmp / "doc.pdf", std::ios::app) << "\n% appended comment\n"; }
    collect(opt, &r3);
    EXPECT_EQ(r3.cacheHits, 0u);
}
