// libFuzzer: the PDF helper's protocol as the parent reads it (pdf_protocol.h): the input is a
// (possibly hostile) helper's output, fed in chunks whose sizes come from the first byte; a
// complete reply goes through the layout (finishPdf) as it would in ingest. Also the request
// decoder the helper uses. Checks: the decoder never accepts more than its limits, a decoded
// reply has as many pages as it announced, and re-encoding a decoded reply decodes the same.
#include "fuzz_target.h"
#include "mts/ingest/pdf_protocol.h"

MTS_FUZZ_TARGET(pdf_protocol) {
    using namespace mts::ingest;
    if (size == 0) return 0;
    const size_t chunk = 1 + data[0] % 64;
    pdfproto::ReplyDecoder decoder;
    bool ok = true;
    for (size_t at = 1; at < size && ok; at += chunk)
        ok = decoder.feed(reinterpret_cast<const char*>(data + at), std::min(chunk, size - at));
    MTS_FUZZ_CHECK(decoder.bytesReceived() <= size);
    if (ok && decoder.done() && decoder.pendingBytes() == 0) {
        PdfWords words = decoder.take();
        if (words.status == PdfExtraction::Status::Ok) MTS_FUZZ_CHECK(words.pages.size() == size_t(words.pageCount));
        std::string again;
        for (size_t p = 0; p < words.pages.size(); ++p) again += pdfproto::encodePage(uint32_t(p), words.pages[p]);
        for (const auto& m : words.messages) again += pdfproto::encodeMessage(m);
        again += pdfproto::encodeDone(words.status, words.wasEncrypted, uint32_t(words.pageCount), words.detail);
        pdfproto::ReplyDecoder second;
        MTS_FUZZ_CHECK(second.feed(again.data(), again.size()) && second.done());
        const PdfWords back = second.take();
        MTS_FUZZ_CHECK(back.pages.size() == words.pages.size() && back.detail == words.detail);
        (void)finishPdf(std::move(words));
    }
    std::string password, error;
    std::string_view pdf;
    const std::string_view frame(reinterpret_cast<const char*>(data), size);
    if (pdfproto::decodeRequest(frame, password, pdf, error)) MTS_FUZZ_CHECK(pdf.size() + password.size() + 13 == size);
    return 0;
}
