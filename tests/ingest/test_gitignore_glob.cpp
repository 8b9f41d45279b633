// The .gitignore matcher: fnmatch-compatible on ordinary patterns, and polynomial on hostile ones
// (the old recursive "**" search and fnmatch's '*' backtracking were exponential).
#include <gtest/gtest.h>

#include <fnmatch.h>

#include <string>
#include <vector>

#include "mts/ingest/gitignore.h"

using namespace mts::ingest;

TEST(GitignoreGlob, AgreesWithFnmatchOnOrdinaryPatterns) {
    const std::vector<std::string> patterns = {
        "*.log", "a?c", "[abc]*", "[!a]*", "[^a]*", "[a-c]x", "\\*lit", "*", "", "a*b*c", "x[]]y", "[x",
        "[[:digit:]]*", "*.[ch]", "abc", "**", "*a*", "\\[x", "?*?"};
    const std::vector<std::string> names = {"a.log",  "abc",   "axc",  "bcd", "zzz", "ax", "cx",  "dx", "*lit",
                                            "xlit",   "",      "aXbYc", "x]y", "7up", "m.c", "m.h", "m.o", "[a-",
                                            "[x", "a", ".hidden.log", "ab"};
    for (const auto& p : patterns)
        for (const auto& n : names)
            EXPECT_EQ(globMatch(p, n), fnmatch(p.c_str(), n.c_str(), 0) == 0) << "pattern '" << p << "' name '" << n << "'";
}

TEST(GitignoreGlob, PathGlobstar) {
    EXPECT_TRUE(globMatchPath("docs/**/*.tmp", "docs/a/b/c.tmp"));
    EXPECT_TRUE(globMatchPath("docs/**/*.tmp", "docs/c.tmp"));
    EXPECT_FALSE(globMatchPath("docs/**/*.tmp", "src/c.tmp"));
    EXPECT_TRUE(globMatchPath("**/x", "x"));
    EXPECT_TRUE(globMatchPath("a/**", "a/b/c"));
    EXPECT_FALSE(globMatchPath("a/*", "a/b/c"));
}

// Work must stay polynomial on patterns that made the old matcher explode.
TEST(GitignoreGlob, PathologicalPatternsArePolynomial) {
    // '*' backtracking: "*a*a*a...*b" against "aaaa...": exponential in the number of stars
    // for a naive recursive matcher, here at most (|p| + 1) x (|n| + 1) steps.
    std::string pat, name(200, 'a');
    for (int i = 0; i < 30; ++i) pat += "*a";
    pat += "*b";
    uint64_t steps = 0;
    EXPECT_FALSE(globMatch(pat, name, &steps));
    EXPECT_LE(steps, (pat.size() + 1) * (name.size() + 1));

    // "**" segments: 30 globstars and a 60-segment path that does not end in x. The old
    // recursion tried every way of spreading 60 segments over 30 globstars (~10^24).
    std::string gpat, path;
    for (int i = 0; i < 30; ++i) gpat += "**/";
    gpat += "x";
    for (int i = 0; i < 60; ++i) path += (i ? "/" : "") + std::string("d");
    steps = 0;
    EXPECT_FALSE(globMatchPath(gpat, path, &steps));
    EXPECT_LE(steps, 31u * 61u * 2u);
    EXPECT_TRUE(globMatchPath(gpat, path + "/x"));

    // Through the rules the walker uses (this call never returned before the change).
    IgnoreRules rules;
    rules.addFile("", gpat + "\n" + pat + "\n");
    EXPECT_FALSE(rules.isIgnored(path, false));
    EXPECT_TRUE(rules.isIgnored(path + "/x", false));
    EXPECT_FALSE(rules.isIgnored(name, false));
}
