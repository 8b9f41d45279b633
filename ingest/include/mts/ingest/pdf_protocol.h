#pragma once
// The PDF helper's wire format (parent <-> mts-pdf-extract, over a socket pair on the child's
// stdin/stdout). Every frame is: type (1 byte), payload length (u32, little endian), payload.
// Integers are little endian, doubles IEEE-754 binary64 little endian, strings u32 length +
// bytes.
//
//   parent -> child   'Q' request: password (string), PDF bytes (the rest of the payload)
//                     (the request's length field is a u64: PDFs may exceed 4 GiB in theory)
//   child -> parent   'P' page: index u32, words u32, then per word: x0 y0 x1 y1 (f64),
//                         spaceAfter u8, text (string)           -- pages in order from 0
//                     'M' message: a poppler diagnostic (string)
//                     'D' done: status u8 (PdfExtraction::Status), wasEncrypted u8,
//                         pageCount u32, detail (string)          -- last frame
//
// The parent trusts nothing the child sends: ReplyDecoder checks every length against the
// bytes present and the limits below, page order, counts and finite coordinates, and turns
// any violation into a protocol error (the file is then reported, never crashes the ingest).
// Pure functions and a plain class: thread-compatible, no I/O.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mts/ingest/pdf_text.h"

namespace mts::ingest::pdfproto {

constexpr uint32_t kMaxReplyFrame = 64u << 20;   ///< bytes of one child frame's payload
constexpr uint64_t kMaxReplyTotal = 512ull << 20;  ///< bytes of all child frames of one PDF
constexpr uint32_t kMaxPages = 1u << 20;
constexpr uint32_t kMaxMessages = 20;

/// The request frame for `pdf` opened with `password`.
std::string encodeRequest(std::string_view password, std::string_view pdf);
/// The request frame up to the PDF bytes (header and password), for a PDF of `pdfSize` bytes
/// that the caller then sends itself: encodeRequestHead(p, n) + pdf == encodeRequest(p, pdf).
std::string encodeRequestHead(std::string_view password, uint64_t pdfSize);

/// Parses a whole request frame. False (and `error`) when malformed; pdf views into `frame`.
bool decodeRequest(std::string_view frame, std::string& password, std::string_view& pdf, std::string& error);

/// Bytes of a request frame's header (type + u64 length), to know how much to read.
constexpr size_t kRequestHeader = 9;
/// The payload length a request header announces (header must hold kRequestHeader bytes);
/// UINT64_MAX when the type byte is wrong.
uint64_t requestPayloadLength(std::string_view header);

std::string encodePage(uint32_t index, const std::vector<WordBox>& words);
std::string encodeMessage(std::string_view message);
std::string encodeDone(PdfExtraction::Status status, bool wasEncrypted, uint32_t pageCount, std::string_view detail);

/// Incremental decoder of the child's reply stream.
class ReplyDecoder {
public:
    /// Appends bytes; decodes every complete frame. False on a protocol error (see error()),
    /// after which the decoder accepts nothing more.
    bool feed(const char* data, size_t size);
    /// The done frame arrived (nothing may follow it).
    bool done() const { return m_done; }
    bool failed() const { return !m_error.empty(); }
    const std::string& error() const { return m_error; }
    /// The words received (status, detail, pages, messages); call once, after done().
    PdfWords take() { return std::move(m_words); }
    uint64_t bytesReceived() const { return m_total; }
    /// Bytes received that do not yet make a whole frame (must be 0 at the end of the stream).
    size_t pendingBytes() const { return m_buffer.size() - m_offset; }

private:
    bool fail(std::string why);
    bool frame(char type, std::string_view payload);

    std::string m_buffer;
    size_t m_offset = 0;  // decoded prefix of m_buffer
    uint64_t m_total = 0;
    bool m_done = false;
    std::string m_error;
    PdfWords m_words;
};

}  // namespace mts::ingest::pdfproto
