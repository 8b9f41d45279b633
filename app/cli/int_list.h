#pragma once
// Comma-separated integer lists on the command line and stdin ("1,2,3", e.g. --prompt-ids,
// --contexts, `tokenize --decode` input).
#include <string>
#include <vector>

namespace mts::cli {

/// Parses "1,2,3"; spaces, tabs and newlines around items are allowed. Every item must be an
/// integer in [lo, hi]. Throws ConfigError "<option>: '<item>' is not <what>" otherwise
/// (an empty or blank text counts as one empty item).
std::vector<long long> parseIntList(const std::string& text, const std::string& option, long long lo,
                                    long long hi, const std::string& what);

}  // namespace mts::cli
