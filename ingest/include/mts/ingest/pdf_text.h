#pragma once
// PDF text extraction with poppler-cpp, in reading order.
//
// Layout: poppler gives words with boxes (page::text_list). We rebuild reading order with a
// recursive XY cut: a region is split at a vertical white gutter that runs through its whole
// height (columns, read left to right) or else at horizontal white bands (blocks, read top to
// bottom); bands whose gutters line up are merged first, so a two-column page under a
// full-width title is read title, left column, right column instead of line by line. Lines
// whose words are mostly right-to-left script are ordered right to left.
// Then: ligatures and Arabic presentation forms expanded (NFKC on those ranges only), words
// hyphenated at line ends joined, lines repeated at the top or bottom of most pages (running
// headers, page numbers) dropped.
//
// Two halves: readPdfWords runs poppler (words and boxes per page); finishPdf does the layout
// and clean-up. extractPdf runs both in this process; ingest runs the first half in a child
// process (mts-pdf-extract, see pdf_isolated.h) so that a PDF that hangs or crashes poppler
// costs only that file.
//
// Threading: extractPdf may run on several threads at once (one document each). poppler's
// diagnostics are captured per thread through a global error callback installed on first use,
// so nothing is printed to stderr.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mts::ingest {

struct PdfExtraction {
    enum class Status {
        Ok,         ///< text extracted (possibly from a damaged file poppler could repair)
        Encrypted,  ///< needs a password we do not have (or the given one is wrong)
        Damaged,    ///< poppler could not open it; detail says why
        NoText,     ///< opened, but no page has text (scanned images?)
        Cancelled,
        // Only from the PDF helper process (pdf_isolated.h):
        Timeout,       ///< the helper ran past the time limit and was killed
        Crashed,       ///< the helper died (signal, abort, CPU limit) or broke the protocol
        OutOfMemory,   ///< the helper hit its memory limit
        HelperFailed,  ///< the helper could not be found or started
    };
    Status status = Status::Damaged;
    std::string detail;                 ///< for people, when status != Ok
    std::vector<std::string> pages;     ///< text per page (may be empty strings)
    int pageCount = 0;
    bool wasEncrypted = false;          ///< opened with the password
    std::vector<std::string> messages;  ///< poppler diagnostics (first few)
    std::string text() const;           ///< pages joined by blank lines
};

/// A word and its box in page coordinates (points, y grows downwards).
struct WordBox {
    std::string text;
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    bool spaceAfter = true;
};

/// What poppler gives: per page, its words (the input of the layout).
struct PdfWords {
    PdfExtraction::Status status = PdfExtraction::Status::Damaged;
    std::string detail;
    int pageCount = 0;
    bool wasEncrypted = false;
    std::vector<std::string> messages;     ///< poppler diagnostics (first few)
    std::vector<std::vector<WordBox>> pages;  ///< empty when streamed through onPage
};

/// Called once per page, in page order, with that page's words.
using PdfPageFn = std::function<void(int pageIndex, std::vector<WordBox>&& words)>;

/// Extracts text from PDF bytes in this process. Never throws for bad input; see Status.
PdfExtraction extractPdf(std::string_view bytes, const std::string& password = {},
                         const std::atomic<bool>* cancel = nullptr);

/// The poppler half: opens the PDF and reads every page's words. With onPage, pages are handed
/// over one by one (and PdfWords::pages stays empty). Status Ok, Encrypted, Damaged or
/// Cancelled; never throws for bad input.
PdfWords readPdfWords(std::string_view bytes, const std::string& password = {},
                      const std::atomic<bool>* cancel = nullptr, const PdfPageFn& onPage = {});

/// The layout half: reading order per page, presentation forms, running headers, hyphenation.
/// Ok becomes NoText when no page has text; other statuses pass through.
PdfExtraction finishPdf(PdfWords&& words);

/// How many PDF extractions have started in this process (in process or in the helper),
/// whatever the outcome (a counter that only grows; thread-safe). Lets a test see that a front
/// end extracts each PDF once.
uint64_t pdfExtractionCount();

/// Adds one to pdfExtractionCount() (the helper-process path counts its runs here).
void countPdfExtraction();

// ---- layout helpers, public for tests ----

/// Reading-order text of one page from its words (see the file comment). Blocks are
/// separated by a blank line, lines by '\n'. Any input is safe: boxes with non-finite
/// coordinates are dropped, flipped boxes put right, and the work is bounded (a page whose
/// column analysis would cost more than a budget linear in its words is read line by line).
std::string layoutPage(const std::vector<WordBox>& words);

/// Joins words hyphenated at line ends ("adip-\niscing" -> "adipiscing"), when the next
/// line starts with a lower-case letter.
std::string joinHyphenation(std::string_view text);

/// Removes running headers and footers: lines among the first/last two of a page that repeat
/// (digits ignored, so "Page 3" and "Page 4" match) on at least half of the pages (>= 3), or
/// that carry a page number (a number that moves with the page index) on >= 3 pages.
/// Returns the number of lines removed.
size_t dropRepeatedHeadersFooters(std::vector<std::string>& pages);

}  // namespace mts::ingest
