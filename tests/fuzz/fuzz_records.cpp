// libFuzzer: record files (formats.h): JSON Lines, a JSON array of records, CSV and TSV.
// Checks: record indexes strictly increase, and each record's text lies within the input size.
#include <optional>

#include "fuzz_target.h"
#include "mts/ingest/formats.h"

MTS_FUZZ_TARGET(records) {
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    const size_t limit = size + 16;
    auto makeFn = [&]() -> mts::ingest::RecordFn {
        return [&, last = std::optional<size_t>()](size_t index, std::string_view text) mutable {
            MTS_FUZZ_CHECK(!last || index > *last);
            last = index;
            // JSON escapes only shrink text; CSV unquoting too.
            MTS_FUZZ_CHECK(text.size() <= limit);
            return true;
        };
    };
    const auto jl = mts::ingest::forEachJsonLine(all, makeFn());
    MTS_FUZZ_CHECK(jl.records <= size);
    (void)mts::ingest::forEachJsonArrayRecord(all, makeFn());
    (void)mts::ingest::forEachCsvRecord(all, ',', makeFn());
    (void)mts::ingest::forEachCsvRecord(all, '\t', makeFn());
    return 0;
}
