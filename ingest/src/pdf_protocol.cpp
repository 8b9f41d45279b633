#include "mts/ingest/pdf_protocol.h"

#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace mts::ingest::pdfproto {
namespace {

void putU32(std::string& s, uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void putU64(std::string& s, uint64_t v) {
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void putF64(std::string& s, double d) {
    uint64_t v;
    std::memcpy(&v, &d, 8);
    putU64(s, v);
}
void putString(std::string& s, std::string_view v) {
    putU32(s, static_cast<uint32_t>(v.size()));
    s.append(v.data(), v.size());
}

std::string frameOf(char type, const std::string& payload) {
    std::string f;
    f.reserve(payload.size() + 5);
    f.push_back(type);
    putU32(f, static_cast<uint32_t>(payload.size()));
    f += payload;
    return f;
}

// Bounds-checked reader over one payload.
struct Reader {
    std::string_view s;
    size_t at = 0;
    bool ok = true;
    size_t left() const { return s.size() - at; }
    uint64_t uint(int bytes) {
        if (!ok || left() < static_cast<size_t>(bytes)) return ok = false, 0;
        uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) v |= uint64_t(static_cast<unsigned char>(s[at + i])) << (8 * i);
        at += static_cast<size_t>(bytes);
        return v;
    }
    double f64() {
        uint64_t v = uint(8);
        double d;
        std::memcpy(&d, &v, 8);
        return d;
    }
    std::string_view str() {
        const uint64_t n = uint(4);
        if (!ok || left() < n) return ok = false, std::string_view();
        std::string_view v = s.substr(at, static_cast<size_t>(n));
        at += static_cast<size_t>(n);
        return v;
    }
};

// Bytes of a word with empty text: 4 doubles, spaceAfter, text length.
constexpr size_t kMinWordBytes = 4 * 8 + 1 + 4;

}  // namespace

std::string encodeRequestHead(std::string_view password, uint64_t pdfSize) {
    std::string f;
    f.push_back('Q');
    putU64(f, 4 + password.size() + pdfSize);
    putString(f, password);
    return f;
}

std::string encodeRequest(std::string_view password, std::string_view pdf) {
    std::string f = encodeRequestHead(password, pdf.size());
    f.append(pdf.data(), pdf.size());
    return f;
}

uint64_t requestPayloadLength(std::string_view header) {
    if (header.size() < kRequestHeader || header[0] != 'Q') return UINT64_MAX;
    Reader r{header.substr(1, 8)};
    return r.uint(8);
}

bool decodeRequest(std::string_view frame, std::string& password, std::string_view& pdf, std::string& error) {
    const uint64_t n = requestPayloadLength(frame);
    if (n == UINT64_MAX) return error = "not a request frame", false;
    if (frame.size() - kRequestHeader != n) return error = "request length does not match its header", false;
    Reader r{frame.substr(kRequestHeader)};
    std::string_view pw = r.str();
    if (!r.ok) return error = "request password field is truncated", false;
    password.assign(pw.data(), pw.size());
    pdf = r.s.substr(r.at);
    return true;
}

std::string encodePage(uint32_t index, const std::vector<WordBox>& words) {
    std::string p;
    size_t bytes = 8;
    for (const auto& w : words) bytes += kMinWordBytes + w.text.size();
    p.reserve(bytes);
    putU32(p, index);
    putU32(p, static_cast<uint32_t>(words.size()));
    for (const auto& w : words) {
        putF64(p, w.x0);
        putF64(p, w.y0);
        putF64(p, w.x1);
        putF64(p, w.y1);
        p.push_back(w.spaceAfter ? 1 : 0);
        putString(p, w.text);
    }
    return frameOf('P', p);
}

std::string encodeMessage(std::string_view message) {
    std::string p;
    putString(p, message);
    return frameOf('M', p);
}

std::string encodeDone(PdfExtraction::Status status, bool wasEncrypted, uint32_t pageCount, std::string_view detail) {
    std::string p;
    p.push_back(static_cast<char>(status));
    p.push_back(wasEncrypted ? 1 : 0);
    putU32(p, pageCount);
    putString(p, detail);
    return frameOf('D', p);
}

bool ReplyDecoder::fail(std::string why) {
    if (m_error.empty()) m_error = std::move(why);
    return false;
}

bool ReplyDecoder::frame(char type, std::string_view payload) {
    Reader r{payload};
    switch (type) {
        case 'P': {
            const uint64_t index = r.uint(4), count = r.uint(4);
            if (!r.ok) return fail("page frame too short");
            if (index != m_words.pages.size()) return fail(fmt::format("page {} arrived out of order", index));
            if (index >= kMaxPages) return fail("too many pages");
            if (count > r.left() / kMinWordBytes) return fail(fmt::format("page {} claims {} words in {} bytes", index, count, r.left()));
            std::vector<WordBox> words;
            words.reserve(static_cast<size_t>(count));
            for (uint64_t k = 0; k < count; ++k) {
                WordBox w;
                w.x0 = r.f64();
                w.y0 = r.f64();
                w.x1 = r.f64();
                w.y1 = r.f64();
                w.spaceAfter = r.uint(1) != 0;
                std::string_view t = r.str();
                if (!r.ok) return fail(fmt::format("page {} word {} is truncated", index, k));
                if (!std::isfinite(w.x0) || !std::isfinite(w.y0) || !std::isfinite(w.x1) || !std::isfinite(w.y1))
                    return fail(fmt::format("page {} word {} has a non-finite box", index, k));
                w.text.assign(t.data(), t.size());
                words.push_back(std::move(w));
            }
            if (r.left() != 0) return fail(fmt::format("page {} has {} trailing bytes", index, r.left()));
            m_words.pages.push_back(std::move(words));
            return true;
        }
        case 'M': {
            std::string_view m = r.str();
            if (!r.ok || r.left() != 0) return fail("malformed message frame");
            if (m_words.messages.size() < kMaxMessages) m_words.messages.emplace_back(m);
            return true;
        }
        case 'D': {
            const uint64_t status = r.uint(1), encrypted = r.uint(1), pages = r.uint(4);
            std::string_view detail = r.str();
            if (!r.ok || r.left() != 0) return fail("malformed done frame");
            using S = PdfExtraction::Status;
            const S st = static_cast<S>(status);
            if (st != S::Ok && st != S::Encrypted && st != S::Damaged && st != S::Cancelled)
                return fail(fmt::format("unknown status {}", status));
            if (pages > kMaxPages) return fail("too many pages");
            if (st == S::Ok && pages != m_words.pages.size())
                return fail(fmt::format("{} pages announced, {} received", pages, m_words.pages.size()));
            if (st != S::Ok && !m_words.pages.empty() && st != S::Cancelled)
                return fail("pages sent for a PDF that did not open");
            m_words.status = st;
            m_words.wasEncrypted = encrypted != 0;
            m_words.pageCount = static_cast<int>(pages);
            m_words.detail.assign(detail.data(), detail.size());
            m_done = true;
            return true;
        }
        default: return fail(fmt::format("unknown frame type 0x{:02X}", static_cast<unsigned char>(type)));
    }
}

bool ReplyDecoder::feed(const char* data, size_t size) {
    if (failed()) return false;
    if (size == 0) return true;
    if (m_done) return fail("bytes after the done frame");
    m_total += size;
    if (m_total > kMaxReplyTotal) return fail(fmt::format("more than {} MiB of output", kMaxReplyTotal >> 20));
    m_buffer.append(data, size);
    for (;;) {
        const size_t avail = m_buffer.size() - m_offset;
        if (avail < 5) break;
        const char type = m_buffer[m_offset];
        Reader h{std::string_view(m_buffer).substr(m_offset + 1, 4)};
        const uint64_t len = h.uint(4);
        if (len > kMaxReplyFrame) return fail(fmt::format("a frame of {} bytes (limit {})", len, kMaxReplyFrame));
        if (avail < 5 + len) break;
        if (m_done) return fail("bytes after the done frame");
        if (!frame(type, std::string_view(m_buffer).substr(m_offset + 5, static_cast<size_t>(len)))) return false;
        m_offset += 5 + static_cast<size_t>(len);
    }
    if (m_offset > 0 && (m_offset == m_buffer.size() || m_offset > (1u << 20))) {
        m_buffer.erase(0, m_offset);
        m_offset = 0;
    }
    return true;
}

}  // namespace mts::ingest::pdfproto
