#pragma once
// UTF-8 helpers shared by the tokenizers (internal to mts_core).
#include <cstdint>
#include <string>
#include <string_view>

namespace mts::utf8 {

/// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when the bytes there are
/// not a valid sequence (overlong, surrogate, > U+10FFFF, bad continuation) or are truncated.
size_t validSequenceLength(std::string_view s, size_t i);

/// Bytes at s[i] that form one maximal invalid subpart (>= 1); only for invalid positions.
size_t invalidSubpartLength(std::string_view s, size_t i);

/// True when the sequence at s[i] is a proper prefix of some valid sequence (i.e. could become
/// valid with more bytes) and reaches the end of s.
bool isIncompletePrefix(std::string_view s, size_t i);

/// s with every invalid byte or truncated sequence replaced by U+FFFD (one per maximal
/// invalid subpart, as WHATWG / Python's "replace" do).
std::string sanitize(std::string_view s);

/// True when s is entirely valid UTF-8.
bool isValid(std::string_view s);

/// Appends code point cp as UTF-8.
void append(std::string& out, uint32_t cp);

/// Decodes the valid sequence at s[i] of length len.
uint32_t decodeAt(std::string_view s, size_t i, size_t len);

/// NFC of valid UTF-8 text (utf8proc). Throws std::runtime_error on invalid input.
std::string nfc(std::string_view s);

/// Unicode White_Space property (the set Python's `regex` \s uses).
bool isWhiteSpace(uint32_t cp);

/// A word character as regex \w counts it: Unicode letter (L*), number (N*) or '_'.
bool isWordChar(uint32_t cp);
/// Whether the code point ending just before byte i / starting at byte i of s is a word
/// character (false at the ends of s and on invalid UTF-8).
bool wordCharBefore(std::string_view s, size_t i);
bool wordCharAt(std::string_view s, size_t i);

}  // namespace mts::utf8
