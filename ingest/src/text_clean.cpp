#include "mts/ingest/text_clean.h"

#include <cstdlib>
#include <cstring>

#include <utf8proc.h>

namespace mts::ingest {
namespace {

// Length of the valid UTF-8 sequence starting at p (at most n bytes), or 0 when invalid.
// Follows the Unicode "maximal subpart" rules closely enough for replacement counting.
size_t validSeqLen(const unsigned char* p, size_t n) {
    const unsigned char c = p[0];
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) {
        return (n >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    }
    if (c < 0xF0) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;   // overlong
        if (c == 0xED && p[1] >= 0xA0) return 0;  // surrogate
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;  // overlong
        if (c == 0xF4 && p[1] >= 0x90) return 0; // > U+10FFFF
        return 4;
    }
    return 0;
}

// Bytes of an invalid sequence to consume as one replacement: the lead byte plus any
// continuation bytes that could still have belonged to it.
size_t invalidSpan(const unsigned char* p, size_t n) {
    const unsigned char c = p[0];
    size_t want = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1;
    size_t i = 1;
    while (i < want && i < n && (p[i] & 0xC0) == 0x80) ++i;
    return i;
}

inline bool asciiBlock8(const unsigned char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return (v & 0x8080808080808080ull) == 0;
}

}  // namespace

bool isValidUtf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t n = s.size(), i = 0;
    while (i < n) {
        if (i + 8 <= n && asciiBlock8(p + i)) {
            i += 8;
            continue;
        }
        size_t len = validSeqLen(p + i, n - i);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

std::string repairUtf8(std::string_view s, uint64_t* replacements) {
    uint64_t count = 0;
    std::string out;
    out.reserve(s.size());
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t n = s.size(), i = 0, runStart = 0;
    while (i < n) {
        if (i + 8 <= n && asciiBlock8(p + i)) {
            i += 8;
            continue;
        }
        size_t len = validSeqLen(p + i, n - i);
        if (len) {
            i += len;
            continue;
        }
        out.append(s.data() + runStart, i - runStart);
        out.append("\xEF\xBF\xBD");
        ++count;
        i += invalidSpan(p + i, n - i);
        runStart = i;
    }
    out.append(s.data() + runStart, n - runStart);
    if (replacements) *replacements = count;
    return out;
}

double invalidUtf8Ratio(std::string_view s) {
    if (s.empty()) return 0.0;
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t n = s.size(), i = 0, bad = 0;
    while (i < n) {
        size_t len = validSeqLen(p + i, n - i);
        if (len == 0) {
            // A sequence cut at the end of a sample is not evidence of binary data.
            if (n - i < 4 && p[i] >= 0xC2 && p[i] < 0xF5) break;
            size_t span = invalidSpan(p + i, n - i);
            bad += span;
            i += span;
        } else {
            i += len;
        }
    }
    return double(bad) / double(n);
}

namespace {

// Decodes the valid UTF-8 sequence at p (len bytes).
inline int32_t decode(const unsigned char* p, size_t len) {
    switch (len) {
        case 1: return p[0];
        case 2: return ((p[0] & 0x1F) << 6) | (p[1] & 0x3F);
        case 3: return ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        default:
            return ((p[0] & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    }
}

inline bool isDroppedControl(int32_t cp) {
    if (cp < 0x20) return cp != '\n' && cp != '\t';
    if (cp == 0x7F) return true;
    if (cp >= 0x80 && cp < 0xA0) return true;
    if (cp >= 0x202A && cp <= 0x202E) return true;
    if (cp >= 0x2066 && cp <= 0x2069) return true;
    if (cp == 0xFEFF) return true;  // BOM / zero-width no-break space
    return false;
}

std::string nfc(const std::string& s) {
    utf8proc_uint8_t* out = nullptr;
    utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                      static_cast<utf8proc_ssize_t>(s.size()), &out,
                                      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (n < 0 || !out) {
        std::free(out);
        return s;  // cannot happen for valid UTF-8; keep the text rather than lose it
    }
    std::string r(reinterpret_cast<char*>(out), static_cast<size_t>(n));
    std::free(out);
    return r;
}

}  // namespace

std::string cleanText(std::string_view in, const CleanOptions& options) {
    std::string out;
    out.reserve(in.size());
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    const size_t n = in.size();
    bool needsNfc = false;
    int newlines = 0;           // consecutive '\n' just emitted (after trimming)
    size_t lineContentEnd = 0;  // out.size() after the last non-space char of the line
    bool atStart = true;        // nothing but blank lines so far
    auto newline = [&]() {
        if (options.trimTrailingSpace) out.resize(lineContentEnd);
        if (atStart) {
            out.clear();
            lineContentEnd = 0;
            return;
        }
        if (newlines <= options.maxBlankLines) {
            out.push_back('\n');
            ++newlines;
        }
        lineContentEnd = out.size();
    };
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            ++i;
            if (c == '\r') {
                if (i < n && p[i] == '\n') ++i;
                newline();
                continue;
            }
            if (c == '\n') {
                newline();
                continue;
            }
            if (c < 0x20 && c != '\t') continue;
            if (c == 0x7F) continue;
            out.push_back(static_cast<char>(c));
            if (c != ' ' && c != '\t') {
                lineContentEnd = out.size();
                newlines = 0;
                atStart = false;
            }
            continue;
        }
        size_t len = validSeqLen(p + i, n - i);
        if (len == 0) {  // caller promised valid UTF-8; be safe anyway
            out.append("\xEF\xBF\xBD");
            i += invalidSpan(p + i, n - i);
            lineContentEnd = out.size();
            newlines = 0;
            atStart = false;
            continue;
        }
        int32_t cp = decode(p + i, len);
        if (!isDroppedControl(cp)) {
            if (cp >= 0x300) needsNfc = true;
            out.append(in.data() + i, len);
            lineContentEnd = out.size();
            newlines = 0;
            atStart = false;
        }
        i += len;
    }
    if (options.trimTrailingSpace) out.resize(lineContentEnd);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    // Only text containing code points >= U+0300 (UTF-8 lead bytes >= 0xCC) can change under
    // NFC, so only the lines holding such bytes go through utf8proc (it is the slow part).
    if (!options.nfc || !needsNfc) return out;
    std::string result;
    result.reserve(out.size());
    size_t start = 0;
    while (start < out.size()) {
        size_t nl = out.find('\n', start);
        size_t end = nl == std::string::npos ? out.size() : nl + 1;
        bool high = false;
        for (size_t k = start; k < end && !high; ++k) high = static_cast<unsigned char>(out[k]) >= 0xCC;
        if (high) result += nfc(out.substr(start, end - start));
        else result.append(out, start, end - start);
        start = end;
    }
    return result;
}

std::string expandPresentationForms(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    size_t n = in.size(), i = 0;
    while (i < n) {
        size_t len = validSeqLen(p + i, n - i);
        if (len == 0) {
            out.push_back(static_cast<char>(p[i]));
            ++i;
            continue;
        }
        int32_t cp = decode(p + i, len);
        bool expand = (cp >= 0xFB00 && cp <= 0xFB06) || (cp >= 0xFB50 && cp <= 0xFDFF) ||
                      (cp >= 0xFE70 && cp <= 0xFEFF);
        if (!expand) {
            out.append(in.data() + i, len);
            i += len;
            continue;
        }
        utf8proc_int32_t buf[18];
        int last = 0;
        utf8proc_ssize_t m = utf8proc_decompose_char(cp, buf, 18,
                                                     static_cast<utf8proc_option_t>(UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE), &last);
        if (m <= 0 || m > 18) {
            out.append(in.data() + i, len);
        } else {
            for (utf8proc_ssize_t k = 0; k < m; ++k) {
                utf8proc_uint8_t enc[4];
                utf8proc_ssize_t e = utf8proc_encode_char(buf[k], enc);
                out.append(reinterpret_cast<char*>(enc), static_cast<size_t>(e));
            }
        }
        i += len;
    }
    return out;
}

}  // namespace mts::ingest
