#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "mts/ingest/ingest.h"
#include "mts/ingest/pdf_text.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::readFile;
using mts::test::writeFile;

using namespace mts::ingest;

namespace {

bool hasArabicLetters(const std::string& s, int atLeast) {
    int n = 0;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        // U+0600..U+06FF is encoded as D8 80 .. DB BF
        if (c >= 0xD8 && c <= 0xDB) ++n;
    }
    return n >= atLeast;
}

// Words as they appear in order, for "a appears before b" checks.
size_t pos(const std::string& text, const std::string& needle) {
    size_t p = text.find(needle);
    EXPECT_NE(p, std::string::npos) << "missing: " << needle;
    return p;
}

}  // namespace

TEST(PdfLayout, TwoColumnsUnderTitleReadColumnByColumn) {
    std::vector<WordBox> words;
    auto add = [&](const std::string& t, double x, double y) { words.push_back({t, x, y, x + 40, y + 10, true}); };
    add("Title", 250, 50);
    add("words", 300, 50);
    for (int line = 0; line < 6; ++line) {
        double y = 100 + line * 12;
        for (int k = 0; k < 4; ++k) add("L" + std::to_string(line) + "w" + std::to_string(k), 50 + k * 45, y);
        for (int k = 0; k < 4; ++k) add("R" + std::to_string(line) + "w" + std::to_string(k), 320 + k * 45, y);
    }
    std::string text = layoutPage(words);
    EXPECT_LT(pos(text, "Title words"), pos(text, "L0w0"));
    EXPECT_LT(pos(text, "L5w3"), pos(text, "R0w0"));  // whole left column before the right one
    EXPECT_NE(text.find("L2w0 L2w1 L2w2 L2w3\nL3w0"), std::string::npos);
}

TEST(PdfLayout, HyphenationAndRepeatedHeaders) {
    EXPECT_EQ(joinHyphenation("adip-\niscing elit\nwell-\nKnown"), "adipiscing elit\nwell-\nKnown");
    EXPECT_EQ(joinHyphenation("end of col-\n\numn text"), "end of column text");
    std::vector<std::string> pages = {"Journal of Tests\nbody one\n1", "Journal of Tests\nbody two\n2",
                                      "Journal of Tests\nbody three\n3", "Journal of Tests\nbody four\n4"};
    EXPECT_EQ(dropRepeatedHeadersFooters(pages), 8u);
    EXPECT_EQ(pages[0], "body one");
    EXPECT_EQ(pages[3], "body four");
    std::vector<std::string> two = {"H\na", "H\nb"};
    EXPECT_EQ(dropRepeatedHeadersFooters(two), 0u);  // too few pages to tell
}

TEST(Pdf, MulticolumnInColumnOrder) {
    MTS_REQUIRE_SHARED(pdf, "data/pdfs/multicolumn.pdf");
    MTS_REQUIRE_SHARED(tex, "data/pdfs/multicolumn.tex");
    PdfExtraction r = extractPdf(readFile(pdf));
    ASSERT_EQ(r.status, PdfExtraction::Status::Ok) << r.detail;
    const std::string text = r.text();
    // Order of the pieces of the .tex source: title, abstract, body (lipsum), table.
    const std::string source = readFile(tex);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(source, m, std::regex("\\\\title\\{([^}]*)\\}")));
    const std::string title = m[1];
    ASSERT_TRUE(std::regex_search(source, m, std::regex("\\\\begin\\{abstract\\}\\s*([^\\n]*)")));
    const std::string abstractStart = std::string(m[1]).substr(0, 30);
    ASSERT_TRUE(std::regex_search(source, m, std::regex("\\\\caption\\{([^}]*)\\}")));
    const std::string caption = m[1];
    EXPECT_LT(pos(text, title), pos(text, abstractStart));
    // lipsum paragraphs 1..5 start like this; the right column continues paragraph 3.
    const size_t p1 = pos(text, "Lorem ipsum dolor sit amet, consectetuer");
    const size_t p2 = pos(text, "Nam dui ligula, fringilla a");
    const size_t p3 = pos(text, "Nulla malesuada porttitor diam");
    const size_t p3tail = pos(text, "pellentesque ante. Phasellus adipiscing");
    const size_t p4 = pos(text, "Quisque ullamcorper placerat ipsum");
    const size_t p5 = pos(text, "Fusce mauris. Vestibulum luctus");
    EXPECT_LT(pos(text, abstractStart), p1);
    EXPECT_LT(p1, p2);
    EXPECT_LT(p2, p3);
    EXPECT_LT(p3, p3tail);
    EXPECT_LT(p3tail, p4);
    EXPECT_LT(p4, p5);
    EXPECT_LT(p5, pos(text, caption));
    // Table rows stay rows, in the source's order.
    size_t last = pos(text, caption);
    for (const char* row : {"Austria 8.9", "Belgium 11.5", "Czech Republic 10.7", "Denmark 5.8", "Finland 5.5"}) {
        size_t p = pos(text, row);
        EXPECT_LT(last, p) << row;
        last = p;
    }
    // Hyphenated line ends joined ("adip-/iscing", "Maece-/nas" in the PDF).
    EXPECT_NE(text.find("consectetuer adipiscing elit. Ut purus elit"), std::string::npos);
    EXPECT_NE(text.find("Maecenas lacinia"), std::string::npos);
    // No line mixes the two columns (physical layout would put "Abstract" beside the right column).
    EXPECT_EQ(text.find("Abstract pellentesque"), std::string::npos);
    EXPECT_EQ(text.find("filled molestie"), std::string::npos);
}

TEST(Pdf, ArabicAsArabic) {
    for (const char* name : {"data/pdfs/habibi.pdf", "data/pdfs/habibi-oneline-cmap.pdf"}) {
        MTS_REQUIRE_SHARED(pdf, name);
        PdfExtraction r = extractPdf(readFile(pdf));
        ASSERT_EQ(r.status, PdfExtraction::Status::Ok) << name << ": " << r.detail;
        const std::string text = r.text();
        EXPECT_TRUE(hasArabicLetters(text, 4)) << name << ": " << text;
        // habibi in logical order: HAH, FATHA, BEH, YEH, BEH, YEH
        EXPECT_NE(text.find("\xD8\xAD\xD9\x8E\xD8\xA8\xD9\x8A\xD8\xA8\xD9\x8A"), std::string::npos) << text;
        EXPECT_NE(text.find("habibi"), std::string::npos);
    }
}

TEST(Pdf, EncryptedSkippedThenOpenedWithPassword) {
    MTS_REQUIRE_SHARED(pdf, "data/pdfs/libreoffice-writer-password.pdf");
    const std::string bytes = readFile(pdf);
    PdfExtraction locked = extractPdf(bytes);
    EXPECT_EQ(locked.status, PdfExtraction::Status::Encrypted);
    EXPECT_FALSE(locked.detail.empty());
    EXPECT_EQ(extractPdf(bytes, "wrong").status, PdfExtraction::Status::Encrypted);
    PdfExtraction open = extractPdf(bytes, "openpassword");
    ASSERT_EQ(open.status, PdfExtraction::Status::Ok) << open.detail;
    EXPECT_NE(open.text().find("Lorem ipsum"), std::string::npos);
    EXPECT_TRUE(open.wasEncrypted);
}

TEST(Pdf, EveryPdfThroughIngest) {
    MTS_REQUIRE_SHARED(dir, "data/pdfs");
    for (const std::string password : {"", "openpassword"}) {
        IngestOptions opt;
        opt.sources = {dir};
        opt.pdfPassword = password;
        opt.threads = 2;
        std::map<std::string, std::string> pdfText;
        IngestResult r = ingest(opt, [&](const Document& d) {
            if (d.kind == "pdf") pdfText[std::filesystem::path(d.source).filename().string()] = d.text;
            return true;
        });
        size_t pdfs = 0;
        for (const auto& e : std::filesystem::directory_iterator(dir)) {
            if (e.path().extension() != ".pdf") continue;
            ++pdfs;
            const std::string name = e.path().filename().string();
            const bool locked = name == "libreoffice-writer-password.pdf" && password.empty();
            if (locked) {
                EXPECT_EQ(pdfText.count(name), 0u);
                bool listed = false;
                for (const auto& s : r.skipped) listed |= s.path.find(name) != std::string::npos && s.reason == "encrypted";
                EXPECT_TRUE(listed) << "encrypted PDF not reported as encrypted";
            } else if (name.rfind("habibi", 0) == 0) {
                // habibi.pdf and habibi-oneline-cmap.pdf have the same text: one is delivered,
                // the other counted as a duplicate.
                EXPECT_EQ(pdfText.count("habibi.pdf") + pdfText.count("habibi-oneline-cmap.pdf"), 1u);
                EXPECT_GE(r.exactDuplicates, 1u);
            } else {
                ASSERT_EQ(pdfText.count(name), 1u) << name;
                EXPECT_GT(pdfText[name].size(), 10u) << name;
            }
        }
        EXPECT_GE(pdfs, 8u);
        EXPECT_EQ(r.kinds["pdf"].files, pdfText.size());
    }
}

TEST(Pdf, BrokenFilesRecoveredOrSkippedWithReason) {
    MTS_REQUIRE_SHARED(dir, "data/pdfs-broken");
    size_t files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        ++files;
        PdfExtraction r = extractPdf(readFile(e.path()));
        if (r.status == PdfExtraction::Status::Ok) {
            EXPECT_FALSE(r.text().empty()) << e.path();
        } else {
            EXPECT_TRUE(r.status == PdfExtraction::Status::Damaged || r.status == PdfExtraction::Status::NoText)
                << e.path();
            EXPECT_FALSE(r.detail.empty()) << e.path();
        }
    }
    EXPECT_GE(files, 4u);
    IngestOptions opt;
    opt.sources = {dir};
    std::set<std::string> delivered;
    IngestResult r = ingest(opt, [&](const Document& d) { return delivered.insert(d.source), true; });
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        bool isDoc = false, isSkip = false;
        for (const auto& d : delivered) isDoc |= d.find(name) != std::string::npos;
        for (const auto& s : r.skipped) {
            if (s.path.find(name) == std::string::npos) continue;
            isSkip = true;
            EXPECT_TRUE(s.reason == "damaged" || s.reason == "no-text" || s.reason == "duplicate") << name << " " << s.reason;
            EXPECT_FALSE(s.detail.empty());
        }
        EXPECT_TRUE(isDoc != isSkip) << name << ": must be either a document or a reported skip";
    }
    // bad1.pdf ("oops") cannot be a PDF: it must be among the skips.
    bool bad1 = false;
    for (const auto& s : r.skipped) bad1 |= s.path.find("bad1.pdf") != std::string::npos;
    EXPECT_TRUE(bad1);
}

TEST(Pdf, GarbageNeverCrashes) {
    for (const std::string& junk : {std::string("%PDF-1.7\n"), std::string("%PDF-1.4\n1 0 obj << /Type /Catalog >>\n%%EOF"),
                                    std::string("%PDF-") + std::string(5000, '\xFF'), std::string()}) {
        PdfExtraction r = extractPdf(junk);
        EXPECT_NE(r.status, PdfExtraction::Status::Ok);
        EXPECT_FALSE(r.detail.empty());
    }
}
