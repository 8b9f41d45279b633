#pragma once
// Structured config files (YAML, TOML, XML) as text: parsed to check that they are well formed
// (yaml-cpp, toml++, pugixml), then kept as text a model can learn from. Malformed files are
// reported (reason "malformed", with the parser's line and column) instead of being passed off
// as valid configuration.
//
// Normalisation: YAML and TOML stay verbatim (their comments are the prose in them); XML stays
// verbatim unless it is minified (very long lines), then it is re-indented by pugixml so it is
// readable instead of being skipped as "minified". YAML with template expressions ("{{", as
// in Helm charts) is not YAML until rendered: kept verbatim, unparsed, meta "template": true.
// Pure functions, thread-safe; never throw for bad input.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mts::ingest {

struct ConfigResult {
    bool wellFormed = false;
    std::string error;    ///< when !wellFormed: "line L, column C: what" (1-based)
    std::string text;     ///< when wellFormed: the text to keep (see normalisation)
    nlohmann::json meta;  ///< e.g. {"documents": 2} for YAML, {"reindented": true} for XML
};

/// True for the languages checkConfig parses: "yaml", "toml", "xml".
bool isStructuredConfig(std::string_view language);

/// Parses `text` (valid UTF-8) as `language` and normalises it (see the file comment).
/// A language isStructuredConfig does not know passes through unchanged and well formed.
ConfigResult checkConfig(std::string_view language, std::string_view text);

}  // namespace mts::ingest
