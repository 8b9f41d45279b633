#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mts/ingest/detect.h"
#include "mts/ingest/formats.h"
#include "mts/ingest/gitignore.h"

using namespace mts::ingest;

TEST(Detect, ByNameAndContent) {
    EXPECT_EQ(detect("notes.txt", "hello").cls, FileClass::Text);
    EXPECT_EQ(detect("README", "hello").cls, FileClass::Text);
    EXPECT_EQ(detect("main.py", "print(1)").cls, FileClass::Code);
    EXPECT_EQ(detect("main.py", "print(1)").language, "python");
    EXPECT_EQ(detect("Makefile", "all:").language, "make");
    EXPECT_EQ(detect("a.yaml", "a: 1").cls, FileClass::Config);
    EXPECT_EQ(detect("page.html", "<p>x</p>").cls, FileClass::Html);
    EXPECT_EQ(detect("d.jsonl", "{}").cls, FileClass::JsonLines);
    EXPECT_EQ(detect("x.bin", "%PDF-1.4 ...").cls, FileClass::Pdf);
    // A PNG renamed .txt is binary; NULs are binary; a lock file is skipped by name.
    Detection png = detect("photo.txt", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
    EXPECT_EQ(png.cls, FileClass::Skip);
    EXPECT_EQ(png.reason, "binary");
    EXPECT_NE(png.detail.find("PNG"), std::string::npos);
    EXPECT_EQ(detect("x.txt", std::string("ab\0cd", 5)).reason, "binary");
    EXPECT_EQ(detect("Cargo.lock", "[[package]]").reason, "lock-file");
    EXPECT_EQ(detect("app.min.js", "var a").reason, "minified");
    EXPECT_EQ(detect("a.png", "").reason, "image");
    EXPECT_EQ(detect("a.zip", "").reason, "archive");
    EXPECT_EQ(detect("data.gz", "\x1f\x8b\x08").reason, "archive");
    EXPECT_EQ(detect("fake.pdf", "oops\n").reason, "damaged");
    EXPECT_EQ(detect("u16.txt", "\xFF\xFEh\0i\0").reason, "binary");
}

TEST(Detect, MinifiedAndVendored) {
    EXPECT_TRUE(looksMinified(std::string(5000, 'x')));
    std::string normal;
    for (int i = 0; i < 200; ++i) normal += "int x = 1;\n";
    EXPECT_FALSE(looksMinified(normal));
    EXPECT_TRUE(isVendoredDirName("node_modules"));
    EXPECT_TRUE(isVendoredDirName(".venv"));
    EXPECT_TRUE(isVendoredDirName("__pycache__"));
    EXPECT_TRUE(isVendoredDirName("build-release"));
    EXPECT_FALSE(isVendoredDirName("src"));
}

TEST(Gitignore, Rules) {
    IgnoreRules r;
    r.addFile("", "# comment\n*.log\n/top.txt\nbuild/\n!keep.log\ndocs/**/*.tmp\n\\#hash\n");
    r.addFile("sub", "local.txt\n/anch.md\n");
    EXPECT_TRUE(r.isIgnored("a.log", false));
    EXPECT_TRUE(r.isIgnored("x/y/a.log", false));
    EXPECT_FALSE(r.isIgnored("keep.log", false));
    EXPECT_TRUE(r.isIgnored("top.txt", false));
    EXPECT_FALSE(r.isIgnored("x/top.txt", false));
    EXPECT_TRUE(r.isIgnored("build", true));
    EXPECT_FALSE(r.isIgnored("build", false));  // dir-only rule
    EXPECT_TRUE(r.isIgnored("docs/a/b/c.tmp", false));
    EXPECT_TRUE(r.isIgnored("docs/c.tmp", false));
    EXPECT_TRUE(r.isIgnored("#hash", false));
    EXPECT_TRUE(r.isIgnored("sub/local.txt", false));
    EXPECT_TRUE(r.isIgnored("sub/deeper/local.txt", false));
    EXPECT_FALSE(r.isIgnored("local.txt", false));
    EXPECT_TRUE(r.isIgnored("sub/anch.md", false));
    EXPECT_FALSE(r.isIgnored("sub/x/anch.md", false));
    EXPECT_FALSE(r.isIgnored("readme.md", false));
}

TEST(Formats, HtmlStripsTagsScriptsAndEntities) {
    std::string t = htmlToText("<html><head><title>T</title><style>p{}</style></head><body>"
                               "<h1>Head</h1><p>One &amp; <b>two</b></p><script>alert(1)</script>"
                               "<ul><li>a</li><li>b</li></ul><pre>x  y\n z</pre></body></html>");
    EXPECT_NE(t.find("One & two"), std::string::npos);
    EXPECT_NE(t.find("Head"), std::string::npos);
    EXPECT_EQ(t.find("alert"), std::string::npos);
    EXPECT_EQ(t.find("p{}"), std::string::npos);
    EXPECT_EQ(t.find('<'), std::string::npos);
    EXPECT_NE(t.find("a\nb"), std::string::npos);
    EXPECT_NE(t.find("x  y\n z"), std::string::npos);
    // Malformed HTML still yields its text; garbage yields no crash.
    EXPECT_NE(htmlToText("<p>unclosed <b>bold <i>text").find("unclosed bold text"), std::string::npos);
    htmlToText("<<<>>>&&&;;<!--");
}

TEST(Formats, JsonLines) {
    std::vector<std::string> got;
    auto st = forEachJsonLine("{\"text\": \"first\"}\n\nnot json\n{\"content\": \"second\", \"id\": 3}\n\"third\"\n{\"id\": 1}\n",
                              [&](size_t i, std::string_view t) {
                                  EXPECT_EQ(i, got.size());
                                  got.emplace_back(t);
                                  return true;
                              });
    EXPECT_EQ(got, (std::vector<std::string>{"first", "second", "third"}));
    EXPECT_EQ(st.badLines, 2u);
}

TEST(Formats, JsonArrayRecords) {
    std::vector<std::string> got;
    auto fn = [&](size_t, std::string_view t) {
        got.emplace_back(t);
        return true;
    };
    auto st = forEachJsonArrayRecord("[{\"text\":\"a\"},{\"body\":\"b\",\"text\":\"c\"}]", fn);
    ASSERT_TRUE(st);
    EXPECT_EQ(got, (std::vector<std::string>{"a", "c"}));
    EXPECT_FALSE(forEachJsonArrayRecord("{\"text\":\"not an array\"}", fn));
    EXPECT_FALSE(forEachJsonArrayRecord("[1,2,3]", fn));
    EXPECT_FALSE(forEachJsonArrayRecord("[{\"text\": \"broken\"", fn));
}

TEST(Formats, CsvTextColumn) {
    std::vector<std::string> got;
    auto fn = [&](size_t, std::string_view t) {
        got.emplace_back(t);
        return true;
    };
    auto st = forEachCsvRecord("id,Text,label\r\n1,\"hello, world\",x\n2,\"multi\nline \"\"quoted\"\"\",y\n3\n", ',', fn);
    ASSERT_TRUE(st);
    EXPECT_EQ(got, (std::vector<std::string>{"hello, world", "multi\nline \"quoted\""}));
    EXPECT_EQ(st->badLines, 1u);
    EXPECT_FALSE(forEachCsvRecord("a,b\n1,2\n", ',', fn));
    got.clear();
    ASSERT_TRUE(forEachCsvRecord("content\tx\nrow one\t1\n", '\t', fn));
    EXPECT_EQ(got, (std::vector<std::string>{"row one"}));
    // Unterminated quote: no crash, the rest becomes one field.
    forEachCsvRecord("text\n\"never closed", ',', fn);
}
