// libFuzzer: PDF layout (pdf_text.h): word boxes in, reading order out. The input is read as
// pages of words (coordinates as 16-bit values, a few of them non-finite or huge, short texts),
// then layoutPage, header/footer removal and hyphen joining run on them. Checks: every word of
// a page with sane boxes appears in its text exactly as often as it was given.
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <vector>

#include "fuzz_target.h"
#include "mts/ingest/pdf_text.h"

namespace {

double coord(mts::fuzz::Bytes& in) {
    const uint16_t v = in.u16();
    switch (v >> 12) {
        case 0xF: return std::numeric_limits<double>::quiet_NaN();
        case 0xE: return (v & 1) ? std::numeric_limits<double>::infinity() : 1e300;
        default: return (v & 0x0FFF) * 0.75 - 100.0;
    }
}

}  // namespace

MTS_FUZZ_TARGET(pdf_layout) {
    mts::fuzz::Bytes in(data, size);
    std::vector<std::string> pages;
    while (!in.empty() && pages.size() < 8) {
        const size_t count = in.u16() % 2048;
        std::vector<mts::ingest::WordBox> words;
        bool sane = true;
        for (size_t k = 0; k < count && !in.empty(); ++k) {
            mts::ingest::WordBox w;
            w.x0 = coord(in);
            w.y0 = coord(in);
            w.x1 = coord(in);
            w.y1 = coord(in);
            w.spaceAfter = in.byte() & 1;
            // Words of letters only, so the count check below can split on spaces.
            for (char c : in.text(12)) w.text.push_back(static_cast<char>('a' + static_cast<unsigned char>(c) % 26));
            if (w.text.empty()) w.text = "x";
            sane = sane && std::isfinite(w.x0) && std::isfinite(w.y0) && std::isfinite(w.x1) && std::isfinite(w.y1) &&
                   std::fabs(w.x0) < 1e6 && std::fabs(w.x1) < 1e6 && std::fabs(w.y0) < 1e6 && std::fabs(w.y1) < 1e6;
            words.push_back(std::move(w));
        }
        std::string text = mts::ingest::layoutPage(words);
        if (sane) {
            // Words may be glued to neighbours (no space after), so compare letters, not tokens.
            size_t given = 0, got = 0;
            for (const auto& w : words) given += w.text.size();
            for (char c : text) got += (c >= 'a' && c <= 'z');
            MTS_FUZZ_CHECK(given == got);
        }
        pages.push_back(std::move(text));
    }
    mts::ingest::dropRepeatedHeadersFooters(pages);
    for (const auto& p : pages) (void)mts::ingest::joinHyphenation(p);
    return 0;
}
