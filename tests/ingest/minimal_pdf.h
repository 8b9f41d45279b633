#pragma once
// Test PDFs made on the spot (no shared data needed) and the PDF helper's test switch.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace mts::test {

// A one-page PDF showing `text` in Helvetica, with a correct xref table; `tail` is appended
// after %%EOF (where the helper's test markers go).
inline std::string minimalPdf(const std::string& text, const std::string& tail = "") {
    const std::string content = "BT /F1 12 Tf 72 720 Td (" + text + ") Tj ET";
    std::vector<std::string> objs = {
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"};
    std::string pdf = "%PDF-1.4\n";
    std::vector<size_t> offsets;
    for (size_t i = 0; i < objs.size(); ++i) {
        offsets.push_back(pdf.size());
        pdf += std::to_string(i + 1) + " 0 obj\n" + objs[i] + "\nendobj\n";
    }
    const size_t xref = pdf.size();
    pdf += "xref\n0 " + std::to_string(objs.size() + 1) + "\n0000000000 65535 f \n";
    for (size_t off : offsets) {
        char line[32];
        std::snprintf(line, sizeof(line), "%010zu 00000 n \n", off);
        pdf += line;
    }
    pdf += "trailer\n<< /Size " + std::to_string(objs.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
           std::to_string(xref) + "\n%%EOF\n" + tail;
    return pdf;
}

// Sets MTS_PDF_EXTRACT_TEST=1 for one scope: the helper then obeys the markers
// "%mts-test:hang|crash|oom|garbage" in a PDF (see ingest/tools/pdf_extract_main.cpp).
struct PdfHelperTestMarkers {
    PdfHelperTestMarkers() { ::setenv("MTS_PDF_EXTRACT_TEST", "1", 1); }
    ~PdfHelperTestMarkers() { ::unsetenv("MTS_PDF_EXTRACT_TEST"); }
};

}  // namespace mts::test
