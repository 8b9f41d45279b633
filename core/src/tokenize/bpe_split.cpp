// Byte stand-ins, the GPT-2 split regex and literal (added-token) matching.
#include <stdexcept>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tokenize/bpe_internal.h"
#include "tokenize/utf8_util.h"

namespace mts::bpe {

const std::array<uint32_t, 256>& byteToCodepoint() {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        uint32_t next = 0;
        for (uint32_t b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            t[b] = printable ? b : 0x100 + next++;
        }
        return t;
    }();
    return table;
}

namespace {
// Inverse of byteToCodepoint over the range it covers (U+0000..U+0143), -1 elsewhere.
const std::array<int16_t, 0x144>& codepointToByte() {
    static const std::array<int16_t, 0x144> table = [] {
        std::array<int16_t, 0x144> t{};
        t.fill(-1);
        const auto& fwd = byteToCodepoint();
        for (int b = 0; b < 256; ++b) t[fwd[b]] = static_cast<int16_t>(b);
        return t;
    }();
    return table;
}
}  // namespace

std::string bytesToStandIns(std::string_view bytes) {
    const auto& fwd = byteToCodepoint();
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) utf8::append(out, fwd[static_cast<uint8_t>(c)]);
    return out;
}

bool standInsToBytes(std::string_view token, std::string& out) {
    const auto& inv = codepointToByte();
    std::string bytes;
    bytes.reserve(token.size());
    size_t i = 0;
    while (i < token.size()) {
        const size_t n = utf8::validSequenceLength(token, i);
        if (n == 0) return false;
        const uint32_t cp = utf8::decodeAt(token, i, n);
        if (cp >= inv.size() || inv[cp] < 0) return false;
        bytes += static_cast<char>(inv[cp]);
        i += n;
    }
    out = std::move(bytes);
    return true;
}

namespace {
// \s of the reference (Python `regex`) is the Unicode White_Space property. PCRE2's \s with
// UCP also matches U+180E, which left White_Space in Unicode 6.3, so the class is spelled out.
constexpr const char* kWs =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

std::string gpt2Pattern() {
    const std::string ws = kWs;
    return "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + ws + "\\p{L}\\p{N}]+|[" + ws +
           "]+(?![^" + ws + "])|[" + ws + "]+";
}
}  // namespace

Gpt2Splitter::Gpt2Splitter() {
    int err = 0;
    PCRE2_SIZE offset = 0;
    const std::string pattern = gpt2Pattern();
    auto* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(),
                               PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &offset, nullptr);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        throw std::runtime_error(std::string("GPT-2 split pattern: ") + reinterpret_cast<char*>(msg));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is absent
    m_code = code;
}

Gpt2Splitter::~Gpt2Splitter() { pcre2_code_free(static_cast<pcre2_code*>(m_code)); }

void Gpt2Splitter::split(std::string_view text, const std::function<void(std::string_view)>& onPiece) const {
    if (text.empty()) return;
    auto* code = static_cast<pcre2_code*>(m_code);
    struct MatchData {
        pcre2_match_data* md;
        ~MatchData() { pcre2_match_data_free(md); }
    };
    thread_local MatchData data{pcre2_match_data_create(1, nullptr)};
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t pos = 0;
    while (pos < text.size()) {
        const int rc = pcre2_match(code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, data.md, nullptr);
        if (rc < 0) {
            if (rc == PCRE2_ERROR_NOMATCH) {
                // Every character matches one alternative, so this is unreachable; keep the text.
                onPiece(text.substr(pos));
                return;
            }
            throw std::runtime_error("GPT-2 split regex failed (PCRE2 error " + std::to_string(rc) + ")");
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.md);
        const size_t start = ov[0], end = ov[1];
        if (start > pos) onPiece(text.substr(pos, start - pos));
        if (end == start) {  // empty match cannot happen with this pattern; guard anyway
            onPiece(text.substr(start, 1));
            pos = start + 1;
            continue;
        }
        onPiece(text.substr(start, end - start));
        pos = end;
    }
}

const Gpt2Splitter& gpt2Splitter() {
    static const Gpt2Splitter splitter;
    return splitter;
}

LiteralMatcher::LiteralMatcher(std::vector<AddedToken> tokens) {
    for (auto& t : tokens)
        if (!t.content.empty()) m_tokens.push_back(std::move(t));
}

void LiteralMatcher::split(std::string_view text, const std::function<void(std::string_view)>& onText,
                           const std::function<void(int32_t)>& onToken) const {
    if (m_tokens.empty()) {
        if (!text.empty()) onText(text);
        return;
    }
    // Next occurrence of each token at or after `pos`, recomputed only when passed.
    std::vector<size_t> next(m_tokens.size(), 0);
    std::vector<bool> valid(m_tokens.size(), false);
    size_t pos = 0;
    size_t textStart = 0;  // start of the pending text piece
    while (pos <= text.size()) {
        size_t best = std::string_view::npos;
        size_t bestTok = 0;
        for (size_t k = 0; k < m_tokens.size(); ++k) {
            if (!valid[k] || next[k] < pos) {
                next[k] = text.find(m_tokens[k].content, pos);
                valid[k] = true;
            }
            if (next[k] == std::string_view::npos) continue;
            if (next[k] < best || (next[k] == best && m_tokens[k].content.size() > m_tokens[bestTok].content.size())) {
                best = next[k];
                bestTok = k;
            }
        }
        if (best == std::string_view::npos) break;
        const AddedToken& tok = m_tokens[bestTok];
        // single_word: only a whole word matches, i.e. no word character touches either end
        // (as Hugging Face tokenizers decide it); otherwise look for this token further on.
        if (tok.singleWord && (utf8::wordCharBefore(text, best) || utf8::wordCharAt(text, best + tok.content.size()))) {
            next[bestTok] = text.find(tok.content, best + 1);
            continue;
        }
        size_t a = best, b = best + tok.content.size();
        if (tok.lstrip)
            while (a > textStart && utf8::isWhiteSpace(static_cast<uint8_t>(text[a - 1])) &&
                   static_cast<uint8_t>(text[a - 1]) < 0x80)
                --a;
        if (tok.rstrip)
            while (b < text.size() && static_cast<uint8_t>(text[b]) < 0x80 &&
                   utf8::isWhiteSpace(static_cast<uint8_t>(text[b])))
                ++b;
        if (a > textStart) onText(text.substr(textStart, a - textStart));
        onToken(tok.id);
        pos = b;
        textStart = b;
    }
    if (textStart < text.size()) onText(text.substr(textStart));
}

}  // namespace mts::bpe
