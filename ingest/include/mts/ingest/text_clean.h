#pragma once
// Text cleaning shared by every file kind. Pure functions, thread-safe.
#include <cstdint>
#include <string>
#include <string_view>

namespace mts::ingest {

/// True when s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool isValidUtf8(std::string_view s);

/// Copies s, replacing each maximal invalid UTF-8 subpart by U+FFFD.
/// *replacements (if given) receives the number of replacements made.
std::string repairUtf8(std::string_view s, uint64_t* replacements = nullptr);

/// Share of bytes in s that are part of invalid UTF-8 sequences (0..1); a quick binary test.
double invalidUtf8Ratio(std::string_view s);

struct CleanOptions {
    int maxBlankLines = 1;  ///< runs of more blank lines collapse to this many
    bool nfc = true;        ///< Unicode NFC (utf8proc)
    bool trimTrailingSpace = true;  ///< strip spaces/tabs at line ends
};

/// Input must be valid UTF-8 (use repairUtf8 first). Applies, in order: BOM removal,
/// CRLF/CR -> LF, removal of control characters (C0 except \t \n, DEL, C1, bidi embedding
/// controls U+202A..U+202E and U+2066..U+2069), trailing-space trim, blank-line collapse,
/// NFC. Leading and trailing blank lines are removed.
std::string cleanText(std::string_view utf8, const CleanOptions& options = {});

/// NFKC applied only to the Latin ligatures (U+FB00..U+FB06) and the Arabic presentation
/// forms (U+FB50..U+FDFF, U+FE70..U+FEFF), which PDF fonts often emit; everything else is kept.
std::string expandPresentationForms(std::string_view utf8);

}  // namespace mts::ingest
