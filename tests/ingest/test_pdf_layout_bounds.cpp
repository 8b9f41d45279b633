// PDF layout on hostile word boxes (from a damaged file or a misbehaving helper): non-finite,
// flipped or huge boxes and pathological pages give text, never a crash or a stall.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "mts/ingest/pdf_text.h"

using namespace mts::ingest;

namespace {

std::multiset<std::string> wordsOf(const std::string& text) {
    std::multiset<std::string> out;
    std::istringstream in(text);
    for (std::string w; in >> w;) out.insert(w);
    return out;
}

}  // namespace

TEST(PdfLayoutBounds, NonFiniteAndFlippedBoxes) {
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    std::vector<WordBox> words;
    for (int i = 0; i < 200; ++i) {
        WordBox w;
        w.text = "w" + std::to_string(i);
        w.x0 = 10 + (i % 10) * 40;
        w.x1 = w.x0 + 30;
        w.y0 = 100 + (i / 10) * 14;
        w.y1 = w.y0 + 10;
        if (i % 7 == 0) std::swap(w.x0, w.x1);  // flipped
        if (i % 11 == 0) w.y1 = 1e300;          // huge
        words.push_back(w);
    }
    words.push_back({"nan", nan, 0, 1, 1, true});
    words.push_back({"inf", 0, -inf, 1, 1, true});
    const std::string text = layoutPage(words);
    const auto got = wordsOf(text);
    EXPECT_EQ(got.count("nan"), 0u);
    EXPECT_EQ(got.count("inf"), 0u);
    for (int i = 0; i < 200; ++i) EXPECT_EQ(got.count("w" + std::to_string(i)), 1u) << i;
}

// A staircase of 20,000 one-word lines with gutters everywhere: the XY cut would recurse and
// merge bands for ever; the work budget reads the page line by line instead.
TEST(PdfLayoutBounds, PathologicalPageKeepsEveryWord) {
    std::vector<WordBox> words;
    for (int i = 0; i < 20000; ++i) {
        WordBox w;
        w.text = "s" + std::to_string(i);
        w.x0 = (i % 97) * 25.0;
        w.x1 = w.x0 + 5;
        w.y0 = i * 12.0;
        w.y1 = w.y0 + 10;
        words.push_back(w);
    }
    const auto got = wordsOf(layoutPage(words));
    EXPECT_EQ(got.size(), words.size());
    EXPECT_EQ(got.count("s0"), 1u);
    EXPECT_EQ(got.count("s19999"), 1u);
}

TEST(PdfLayoutBounds, LongHyphenationRunsJoin) {
    std::string text;
    for (int i = 0; i < 50000; ++i) text += "ab-\n";
    text += "cd";
    const std::string joined = joinHyphenation(text);
    EXPECT_EQ(joined.size(), 50000u * 2 + 2);
}
