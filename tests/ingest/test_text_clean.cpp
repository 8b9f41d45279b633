#include <gtest/gtest.h>

#include "mts/ingest/dedup.h"
#include "mts/ingest/text_clean.h"

using namespace mts::ingest;

TEST(Utf8, ValidAndInvalid) {
    EXPECT_TRUE(isValidUtf8("plain ascii text that is longer than eight bytes"));
    EXPECT_TRUE(isValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
    EXPECT_FALSE(isValidUtf8("bad \xFF byte"));
    EXPECT_FALSE(isValidUtf8("overlong \xC0\xAF"));
    EXPECT_FALSE(isValidUtf8("surrogate \xED\xA0\x80"));
    EXPECT_FALSE(isValidUtf8("truncated \xE2\x82"));
    EXPECT_FALSE(isValidUtf8("too big \xF4\x90\x80\x80"));
}

TEST(Utf8, RepairReplacesAndCounts) {
    uint64_t n = 0;
    std::string fixed = repairUtf8("a\xFF" "b\xE2\x82" "c", &n);
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(fixed, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c");
    EXPECT_TRUE(isValidUtf8(fixed));
    EXPECT_EQ(repairUtf8("fine \xC3\xA9", &n), "fine \xC3\xA9");
    EXPECT_EQ(n, 0u);
}

TEST(Utf8, InvalidRatio) {
    EXPECT_DOUBLE_EQ(invalidUtf8Ratio("hello"), 0.0);
    EXPECT_GT(invalidUtf8Ratio("\xFF\xFE\xFD\xFC"), 0.9);
}

TEST(CleanText, LineEndsControlsBlankLines) {
    std::string in = "\xEF\xBB\xBFline one\r\nline\x01 two\x7F\rthree  \n\n\n\n\nfour\t\n\n";
    EXPECT_EQ(cleanText(in), "line one\nline two\nthree\n\nfour");
    CleanOptions code;
    code.maxBlankLines = 2;
    EXPECT_EQ(cleanText("a\n\n\n\n\nb", code), "a\n\n\nb");
    EXPECT_EQ(cleanText("\n\n  \n"), "");
    // C1 controls and bidi embeddings dropped, tabs kept.
    EXPECT_EQ(cleanText("x\xC2\x85y\xE2\x80\xABz\tw"), "xyz\tw");
}

TEST(CleanText, Nfc) {
    // e + combining acute -> U+00E9
    EXPECT_EQ(cleanText("caf" "e\xCC\x81"), "caf\xC3\xA9");
    CleanOptions raw;
    raw.nfc = false;
    EXPECT_EQ(cleanText("e\xCC\x81", raw), "e\xCC\x81");
}

TEST(CleanText, PresentationForms) {
    // U+FB01 "fi" ligature, U+FB02 "fl"
    EXPECT_EQ(expandPresentationForms("\xEF\xAC\x81nd \xEF\xAC\x82ow"), "find flow");
    // Arabic presentation form U+FE8F (BEH isolated) -> U+0628
    EXPECT_EQ(expandPresentationForms("\xEF\xBA\x8F"), "\xD8\xA8");
    // Other compatibility characters are untouched (U+00BD one half).
    EXPECT_EQ(expandPresentationForms("\xC2\xBD"), "\xC2\xBD");
}

TEST(Dedup, ExactAndNear) {
    ExactDedup exact;
    EXPECT_FALSE(exact.seen("alpha"));
    EXPECT_TRUE(exact.seen("alpha"));
    EXPECT_FALSE(exact.seen("alpha "));

    std::string base;
    for (int i = 0; i < 300; ++i) base += "word" + std::to_string(i) + " ";
    std::string nearCopy = base;
    nearCopy.replace(nearCopy.find("word150"), 7, "changed");
    std::string other;
    for (int i = 0; i < 300; ++i) other += "other" + std::to_string(i * 7) + " ";
    auto a = NearDedup::signature(base), b = NearDedup::signature(nearCopy), c = NearDedup::signature(other);
    EXPECT_GT(NearDedup::similarity(a, b), 0.85);
    EXPECT_LT(NearDedup::similarity(a, c), 0.1);
    NearDedup near(0.8);
    EXPECT_FALSE(near.seen(base));
    EXPECT_TRUE(near.seen(nearCopy));
    EXPECT_FALSE(near.seen(other));
}
