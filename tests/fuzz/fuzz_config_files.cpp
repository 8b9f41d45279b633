// libFuzzer: config files (config_formats.h): YAML, TOML or XML by the first byte, the rest is
// the file. Checks: a well-formed result has text; a malformed one a located error; XML that
// was re-indented still parses.
#include "fuzz_target.h"
#include "mts/ingest/config_formats.h"

MTS_FUZZ_TARGET(config_files) {
    if (size == 0) return 0;
    static const char* const kLanguages[] = {"yaml", "toml", "xml"};
    const char* language = kLanguages[data[0] % 3];
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    const mts::ingest::ConfigResult r = mts::ingest::checkConfig(language, text);
    if (r.wellFormed) {
        MTS_FUZZ_CHECK(r.error.empty());
        if (r.meta.value("reindented", false)) MTS_FUZZ_CHECK(mts::ingest::checkConfig(language, r.text).wellFormed);
    } else {
        MTS_FUZZ_CHECK(r.error.rfind("line ", 0) == 0);
    }
    return 0;
}
