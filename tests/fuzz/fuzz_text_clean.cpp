// libFuzzer: text cleaning (text_clean.h). Checks: repairUtf8 gives valid UTF-8 and leaves
// valid input alone; cleanText and expandPresentationForms keep it valid and leave no control
// characters but \n and \t; cleaning is idempotent.
#include "fuzz_target.h"
#include "mts/ingest/text_clean.h"

MTS_FUZZ_TARGET(text_clean) {
    using namespace mts::ingest;
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    const double ratio = invalidUtf8Ratio(raw);
    MTS_FUZZ_CHECK(ratio >= 0.0 && ratio <= 1.0);
    uint64_t replacements = 0;
    const std::string repaired = repairUtf8(raw, &replacements);
    MTS_FUZZ_CHECK(isValidUtf8(repaired));
    if (isValidUtf8(raw)) MTS_FUZZ_CHECK(repaired == raw && replacements == 0);
    CleanOptions options;
    options.maxBlankLines = size % 3;
    const std::string clean = cleanText(repaired, options);
    MTS_FUZZ_CHECK(isValidUtf8(clean));
    for (unsigned char c : clean) MTS_FUZZ_CHECK(c >= 0x20 || c == '\n' || c == '\t');
    MTS_FUZZ_CHECK(cleanText(clean, options) == clean);
    const std::string expanded = expandPresentationForms(repaired);
    MTS_FUZZ_CHECK(isValidUtf8(expanded));
    return 0;
}
