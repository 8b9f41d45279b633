// Issue #13 item 3: PDFs are read in the mts-pdf-extract helper process. The text is the same as
// in-process extraction; a PDF that hangs, crashes, exhausts memory or answers garbage costs
// that file only (reported) and the ingest goes on; cancel kills the helper at once.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "mts/ingest/ingest.h"
#include "mts/ingest/pdf_isolated.h"
#include "mts/ingest/pdf_protocol.h"
#include "minimal_pdf.h"
#include "shared_data.h"
#include "test_files.h"
#include "ingest_test_support.h"

using mts::test::reasonFor;
using mts::test::readFile;
using mts::test::writeFile;

using namespace mts::ingest;
namespace fs = std::filesystem;

namespace {

}  // namespace

TEST(PdfIsolated, HelperIsFoundBesideTheExecutable) {
    const fs::path helper = findPdfHelper();
    ASSERT_FALSE(helper.empty()) << "mts-pdf-extract is not beside the test executable";
    EXPECT_EQ(helper.filename(), "mts-pdf-extract");
    PdfHelperOptions missing;
    missing.helper = "/nonexistent/mts-pdf-extract";
    PdfExtraction r = extractPdfIsolated(mts::test::minimalPdf("x"), "", nullptr, missing);
    EXPECT_EQ(r.status, PdfExtraction::Status::HelperFailed);
    EXPECT_NE(r.detail.find("/nonexistent/mts-pdf-extract"), std::string::npos) << r.detail;
}

TEST(PdfIsolated, SameTextAsInProcess) {
    const std::string tiny = mts::test::minimalPdf("Hello from a tiny PDF");
    PdfExtraction viaHelper = extractPdfIsolated(tiny, "", nullptr);
    ASSERT_EQ(viaHelper.status, PdfExtraction::Status::Ok) << viaHelper.detail;
    EXPECT_EQ(viaHelper.text(), extractPdf(tiny).text());
    EXPECT_NE(viaHelper.text().find("Hello from a tiny PDF"), std::string::npos);

    MTS_REQUIRE_SHARED(dir, "data/pdfs");
    for (const char* name : {"multicolumn.pdf", "pdflatex-4-pages.pdf", "habibi.pdf", "libreoffice-writer-password.pdf",
                             "GeoTopo-komprimiert.pdf"}) {
        SCOPED_TRACE(name);
        const std::string bytes = readFile(dir / name);
        const PdfExtraction a = extractPdf(bytes), b = extractPdfIsolated(bytes, "", nullptr);
        EXPECT_EQ(a.status, b.status);
        EXPECT_EQ(a.pageCount, b.pageCount);
        EXPECT_EQ(a.detail, b.detail);
        EXPECT_EQ(a.pages, b.pages);
        EXPECT_EQ(a.wasEncrypted, b.wasEncrypted);
    }
}

TEST(PdfIsolated, BadPdfsCostOnlyThemselves) {
    mts::test::PdfHelperTestMarkers markers;
    mts::test::TempDir tmp;
    const fs::path src = tmp / "src";
    writeFile(src / "a-good.pdf", mts::test::minimalPdf("A good document that reads fine"));
    writeFile(src / "b-hang.pdf", mts::test::minimalPdf("never read", "%mts-test:hang\n"));
    writeFile(src / "c-crash.pdf", mts::test::minimalPdf("never read either", "%mts-test:crash\n"));
    writeFile(src / "d-oom.pdf", mts::test::minimalPdf("too big", "%mts-test:oom\n"));
    writeFile(src / "e-garbage.pdf", mts::test::minimalPdf("junk answer", "%mts-test:garbage\n"));
    writeFile(src / "f-notes.txt", "Plain notes after the bad PDFs.\n");
    writeFile(src / "g-good.pdf", mts::test::minimalPdf("Another good document"));

    IngestOptions opt;
    opt.sources = {src};
    opt.threads = 2;
    opt.pdfTimeoutSeconds = 4;  // the hanging one costs this long
    opt.pdfMemoryBytes = 256ull << 20;
    std::map<std::string, std::string> docs;
    IngestResult r = ingest(opt, [&](const Document& d) { return docs[fs::path(d.source).filename().string()] = d.text, true; });
    EXPECT_EQ(docs.size(), 3u);
    EXPECT_NE(docs["a-good.pdf"].find("A good document"), std::string::npos);
    EXPECT_NE(docs["g-good.pdf"].find("Another good document"), std::string::npos);
    EXPECT_EQ(docs.count("f-notes.txt"), 1u);
    std::string detail;
    EXPECT_EQ(reasonFor(r, "b-hang.pdf", &detail), "pdf-timeout") << detail;
    EXPECT_EQ(reasonFor(r, "c-crash.pdf", &detail), "pdf-crashed") << detail;
    EXPECT_NE(detail.find("SIGSEGV"), std::string::npos) << detail;
    EXPECT_EQ(reasonFor(r, "d-oom.pdf", &detail), "pdf-memory") << detail;
    EXPECT_EQ(reasonFor(r, "e-garbage.pdf", &detail), "pdf-crashed") << detail;
    EXPECT_NE(detail.find("protocol"), std::string::npos) << detail;
    EXPECT_EQ(r.pdfExtractions, 6u);
    EXPECT_EQ(pdfHelpersRunning(), 0);
}

TEST(PdfIsolated, CancelKillsTheHelperAtOnce) {
    mts::test::PdfHelperTestMarkers markers;
    mts::test::TempDir tmp;
    writeFile(tmp / "src" / "hang.pdf", mts::test::minimalPdf("hangs", "%mts-test:hang\n"));
    std::atomic<bool> cancel{false};
    IngestOptions opt;
    opt.sources = {tmp / "src"};
    opt.threads = 1;
    opt.pdfTimeoutSeconds = 600;  // only cancel can end it in time
    opt.cancel = &cancel;
    IngestResult result;
    std::thread job([&] { result = ingest(opt, [](const Document&) { return true; }); });
    bool started = false;
    for (int i = 0; i < 6000 && !started; ++i) {
        started = pdfHelpersRunning() > 0;
        if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(started);
    const auto t0 = std::chrono::steady_clock::now();
    cancel = true;
    job.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_TRUE(result.cancelled);
    EXPECT_EQ(pdfHelpersRunning(), 0);
    // Not a speed figure: the helper would otherwise hang for the 600 s limit.
    EXPECT_LT(seconds, 60.0);
}

TEST(PdfProtocol, RoundTripAndRejections) {
    using namespace pdfproto;
    std::vector<WordBox> words = {{"Hello", 1, 2, 3, 4, true}, {"w\xC3\xB6rld", 5, 6, 7, 8, false}};
    std::string stream = encodePage(0, words) + encodeMessage("a warning") + encodePage(1, {}) +
                         encodeDone(PdfExtraction::Status::Ok, true, 2, "");
    ReplyDecoder d;
    for (char c : stream) ASSERT_TRUE(d.feed(&c, 1)) << d.error();  // byte by byte
    ASSERT_TRUE(d.done());
    EXPECT_EQ(d.pendingBytes(), 0u);
    PdfWords w = d.take();
    ASSERT_EQ(w.pages.size(), 2u);
    EXPECT_EQ(w.pages[0][1].text, "w\xC3\xB6rld");
    EXPECT_EQ(w.pages[0][1].x1, 7);
    EXPECT_FALSE(w.pages[0][1].spaceAfter);
    EXPECT_EQ(w.messages, std::vector<std::string>{"a warning"});
    EXPECT_TRUE(w.wasEncrypted);

    std::string password;
    std::string_view pdf;
    std::string error;
    const std::string req = encodeRequest("pw", "%PDF-1.4 body");
    ASSERT_TRUE(decodeRequest(req, password, pdf, error)) << error;
    EXPECT_EQ(password, "pw");
    EXPECT_EQ(pdf, "%PDF-1.4 body");
    EXPECT_FALSE(decodeRequest(req.substr(0, req.size() - 1), password, pdf, error));

    auto rejects = [](const std::string& bytes) {
        ReplyDecoder x;
        return !x.feed(bytes.data(), bytes.size()) && !x.error().empty();
    };
    EXPECT_TRUE(rejects(encodePage(1, words)));                               // out of order
    EXPECT_TRUE(rejects(encodeDone(PdfExtraction::Status::Ok, false, 3, "")));  // pages missing
    EXPECT_TRUE(rejects(std::string("P\xff\xff\xff\x7f", 5)));                 // frame too large
    EXPECT_TRUE(rejects(std::string("Z\0\0\0\0", 5)));                         // unknown type
    std::string nan = encodePage(0, {{"x", 0, 0, 1, 1, true}});
    const double q = std::numeric_limits<double>::quiet_NaN();
    std::memcpy(&nan[5 + 8], &q, 8);
    EXPECT_TRUE(rejects(nan));
    std::string lying = encodePage(0, words);
    lying[9] = '\x7f';  // word count far beyond the payload
    EXPECT_TRUE(rejects(lying));
    ReplyDecoder tail;  // a byte after the done frame: not a whole frame yet, but left over
    const std::string done = encodeDone(PdfExtraction::Status::Damaged, false, 0, "") + "x";
    tail.feed(done.data(), done.size());
    EXPECT_TRUE(tail.done());
    EXPECT_EQ(tail.pendingBytes(), 1u);
    EXPECT_TRUE(rejects(encodeDone(PdfExtraction::Status::Damaged, false, 0, "") + encodeMessage("late")));
}
