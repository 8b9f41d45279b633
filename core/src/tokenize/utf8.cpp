#include "tokenize/utf8_util.h"

#include <cstdlib>
#include <stdexcept>

#include <utf8proc.h>

#include "mts/core/tokenize/tokenizer.h"

namespace mts::utf8 {

namespace {
constexpr const char* kReplacement = "\xEF\xBF\xBD";

// The allowed range of the second byte for a lead byte (Unicode Table 3-7), or {0,0} when the
// lead byte can never start a sequence.
struct SecondRange {
    uint8_t lo, hi;
    int len;
};
SecondRange secondRange(uint8_t b) {
    if (b < 0x80) return {0, 0, 1};
    if (b >= 0xC2 && b <= 0xDF) return {0x80, 0xBF, 2};
    if (b == 0xE0) return {0xA0, 0xBF, 3};
    if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return {0x80, 0xBF, 3};
    if (b == 0xED) return {0x80, 0x9F, 3};
    if (b == 0xF0) return {0x90, 0xBF, 4};
    if (b >= 0xF1 && b <= 0xF3) return {0x80, 0xBF, 4};
    if (b == 0xF4) return {0x80, 0x8F, 4};
    return {0, 0, 0};
}

// Number of bytes at s[i] that form a valid prefix (maximal subpart), and the full length.
size_t validPrefix(std::string_view s, size_t i, int& fullLen) {
    const auto b = static_cast<uint8_t>(s[i]);
    const SecondRange r = secondRange(b);
    fullLen = r.len;
    if (r.len <= 1) return r.len;
    size_t k = 1;
    for (; k < static_cast<size_t>(r.len) && i + k < s.size(); ++k) {
        const auto c = static_cast<uint8_t>(s[i + k]);
        const uint8_t lo = k == 1 ? r.lo : 0x80;
        const uint8_t hi = k == 1 ? r.hi : 0xBF;
        if (c < lo || c > hi) break;
    }
    return k;
}
}  // namespace

size_t validSequenceLength(std::string_view s, size_t i) {
    int fullLen = 0;
    const size_t k = validPrefix(s, i, fullLen);
    return (fullLen > 0 && k == static_cast<size_t>(fullLen)) ? k : 0;
}

size_t invalidSubpartLength(std::string_view s, size_t i) {
    int fullLen = 0;
    const size_t k = validPrefix(s, i, fullLen);
    return k == 0 ? 1 : k;
}

bool isIncompletePrefix(std::string_view s, size_t i) {
    int fullLen = 0;
    const size_t k = validPrefix(s, i, fullLen);
    return fullLen > 1 && k < static_cast<size_t>(fullLen) && i + k == s.size();
}

std::string sanitize(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        int fullLen = 0;
        const size_t k = validPrefix(s, i, fullLen);
        if (fullLen > 0 && k == static_cast<size_t>(fullLen)) {
            out.append(s.data() + i, k);
            i += k;
        } else {
            out += kReplacement;
            i += k == 0 ? 1 : k;
        }
    }
    return out;
}

bool isValid(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        if (static_cast<uint8_t>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const size_t n = validSequenceLength(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

void append(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

uint32_t decodeAt(std::string_view s, size_t i, size_t len) {
    const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i + k])); };
    switch (len) {
        case 1: return b(0);
        case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
        case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
        default:
            return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    }
}

std::string nfc(std::string_view s) {
    // Pure ASCII is already NFC except for no case at all; skip the library call for speed.
    bool ascii = true;
    for (char c : s) {
        if (static_cast<uint8_t>(c) >= 0x80) {
            ascii = false;
            break;
        }
    }
    if (ascii) return std::string(s);
    utf8proc_uint8_t* out = nullptr;
    // utf8proc_map handles embedded NULs because we pass an explicit length.
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                            static_cast<utf8proc_ssize_t>(s.size()), &out,
                                            static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (n < 0) throw std::runtime_error(std::string("NFC failed: ") + utf8proc_errmsg(n));
    std::string result(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
    std::free(out);
    return result;
}

bool isWhiteSpace(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

bool isWordChar(uint32_t cp) {
    if (cp == '_') return true;
    switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
        case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
        case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
            return true;
        default:
            return false;
    }
}

bool wordCharBefore(std::string_view s, size_t i) {
    // Step back over continuation bytes to the start of the previous sequence.
    size_t j = i;
    while (j > 0 && i - j < 4) {
        --j;
        if ((static_cast<uint8_t>(s[j]) & 0xC0) != 0x80) break;
    }
    if (j == i) return false;
    const size_t len = validSequenceLength(s, j);
    return len == i - j && isWordChar(decodeAt(s, j, len));
}

bool wordCharAt(std::string_view s, size_t i) {
    if (i >= s.size()) return false;
    const size_t len = validSequenceLength(s, i);
    return len > 0 && isWordChar(decodeAt(s, i, len));
}

}  // namespace mts::utf8

namespace mts {

std::string Utf8StreamDecoder::push(std::string_view bytes) {
    m_pending.append(bytes.data(), bytes.size());
    std::string out;
    size_t i = 0;
    const std::string_view s(m_pending);
    while (i < s.size()) {
        if (static_cast<uint8_t>(s[i]) < 0x80) {
            out += s[i++];
            continue;
        }
        const size_t n = utf8::validSequenceLength(s, i);
        if (n > 0) {
            out.append(s.data() + i, n);
            i += n;
        } else if (utf8::isIncompletePrefix(s, i)) {
            break;  // wait for the rest of the character
        } else {
            out += "\xEF\xBF\xBD";
            i += utf8::invalidSubpartLength(s, i);
        }
    }
    m_pending.erase(0, i);
    return out;
}

std::string Utf8StreamDecoder::flush() {
    std::string out = utf8::sanitize(m_pending);
    m_pending.clear();
    return out;
}

}  // namespace mts
