// libFuzzer: HTML to text (formats.h, libxml2's forgiving parser and our tree walk).
// Check: the text never contains a '<' that came from a tag (only from text or entities) --
// cannot be checked cheaply, so: no crash, no hang, bounded output.
#include "fuzz_target.h"
#include "mts/ingest/formats.h"

MTS_FUZZ_TARGET(html) {
    const std::string_view html(reinterpret_cast<const char*>(data), size);
    const std::string text = mts::ingest::htmlToText(html);
    // Entities expand at most ~4 bytes per source byte (&lt; -> '<'); block breaks add newlines.
    MTS_FUZZ_CHECK(text.size() <= 8 * size + 16);
    return 0;
}
