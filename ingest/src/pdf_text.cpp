// PDF reading with poppler-cpp: words and boxes per page (readPdfWords), then the layout of
// pdf_layout.cpp (finishPdf). The PDF helper process runs the first half, the parent the second.
#include "mts/ingest/pdf_text.h"

#include <algorithm>
#include <memory>
#include <mutex>

#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include "mts/ingest/text_clean.h"

namespace mts::ingest {
namespace {

// poppler reports problems through one global callback; route them to the thread that is
// extracting (each extraction runs on one thread), never to stderr.
thread_local std::vector<std::string>* tlMessages = nullptr;

void popplerMessage(const std::string& msg, void*) {
    if (tlMessages && tlMessages->size() < 20) tlMessages->push_back(msg);
}

void installPopplerCallback() {
    static std::once_flag once;
    std::call_once(once, [] { poppler::set_debug_error_function(&popplerMessage, nullptr); });
}

struct MessageScope {
    explicit MessageScope(std::vector<std::string>* sink) { tlMessages = sink; }
    ~MessageScope() { tlMessages = nullptr; }
};

std::string toUtf8(const poppler::ustring& s) {
    poppler::byte_array b = s.to_utf8();
    return std::string(b.begin(), b.end());
}

std::atomic<uint64_t> gPdfExtractions{0};

}  // namespace

std::string PdfExtraction::text() const {
    std::string out;
    for (const auto& p : pages) {
        if (p.empty()) continue;
        if (!out.empty()) out += "\n\n";
        out += p;
    }
    return out;
}

uint64_t pdfExtractionCount() { return gPdfExtractions.load(); }

void countPdfExtraction() { gPdfExtractions.fetch_add(1); }

PdfWords readPdfWords(std::string_view bytes, const std::string& password, const std::atomic<bool>* cancel,
                      const PdfPageFn& onPage) {
    installPopplerCallback();
    PdfWords r;
    MessageScope scope(&r.messages);
    if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
        r.status = PdfExtraction::Status::Damaged;
        r.detail = "file too large for poppler";
        return r;
    }
    std::unique_ptr<poppler::document> doc(
        poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size()), password, password));
    if (!doc) {
        r.status = PdfExtraction::Status::Damaged;
        r.detail = "poppler could not open it" + (r.messages.empty() ? std::string() : ": " + r.messages.front());
        return r;
    }
    if (doc->is_locked()) {
        r.status = PdfExtraction::Status::Encrypted;
        r.detail = password.empty() ? "password protected (no password given)" : "password protected (the given password is wrong)";
        return r;
    }
    r.wasEncrypted = doc->is_encrypted();
    r.pageCount = std::max(0, doc->pages());
    for (int i = 0; i < r.pageCount; ++i) {
        if (cancel && cancel->load()) {
            r.status = PdfExtraction::Status::Cancelled;
            r.detail = "cancelled";
            return r;
        }
        std::vector<WordBox> words;
        std::unique_ptr<poppler::page> page(doc->create_page(i));
        if (page) {
            for (const poppler::text_box& tb : page->text_list()) {
                WordBox wb;
                wb.text = toUtf8(tb.text());
                if (wb.text.empty()) continue;
                poppler::rectf b = tb.bbox();
                wb.x0 = b.left();
                wb.y0 = b.top();
                wb.x1 = b.right();
                wb.y1 = b.bottom();
                wb.spaceAfter = tb.has_space_after();
                words.push_back(std::move(wb));
            }
        }
        if (onPage) onPage(i, std::move(words));
        else r.pages.push_back(std::move(words));
    }
    r.status = PdfExtraction::Status::Ok;
    return r;
}

PdfExtraction finishPdf(PdfWords&& words) {
    PdfExtraction r;
    r.status = words.status;
    r.detail = std::move(words.detail);
    r.pageCount = words.pageCount;
    r.wasEncrypted = words.wasEncrypted;
    r.messages = std::move(words.messages);
    if (r.status != PdfExtraction::Status::Ok) return r;
    for (auto& page : words.pages) {
        std::string text = repairUtf8(layoutPage(page));
        r.pages.push_back(expandPresentationForms(text));
        page = {};  // free the boxes as we go
    }
    dropRepeatedHeadersFooters(r.pages);
    bool any = false;
    for (auto& p : r.pages) {
        p = joinHyphenation(p);
        any = any || p.find_first_not_of(" \n\t") != std::string::npos;
    }
    if (!any) {
        r.status = PdfExtraction::Status::NoText;
        r.detail = r.pageCount == 0 ? "no pages" : "no extractable text on any page (scanned images?)";
    }
    return r;
}

PdfExtraction extractPdf(std::string_view bytes, const std::string& password, const std::atomic<bool>* cancel) {
    countPdfExtraction();
    return finishPdf(readPdfWords(bytes, password, cancel));
}

}  // namespace mts::ingest
