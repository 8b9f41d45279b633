// Issue #14 item 10 (ingest): YAML, TOML and XML files are parsed (yaml-cpp, toml++, pugixml):
// malformed ones are reported with the parser's line and column, well-formed ones kept as text
// (minified XML re-indented instead of dropped).
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "mts/ingest/config_formats.h"
#include "mts/ingest/ingest.h"
#include "shared_data.h"
#include "test_files.h"
#include "ingest_test_support.h"

using mts::test::skipFor;
using mts::test::writeFile;

using namespace mts::ingest;
namespace fs = std::filesystem;

namespace {

}  // namespace

TEST(ConfigFiles, CheckedAndNormalised) {
    ConfigResult y = checkConfig("yaml", "# service settings\nname: web\nports: [80, 443]\n---\nsecond: doc\n");
    EXPECT_TRUE(y.wellFormed) << y.error;
    EXPECT_EQ(y.meta["documents"], 2);
    EXPECT_NE(y.text.find("# service settings"), std::string::npos);  // comments kept

    ConfigResult bad = checkConfig("yaml", "name: web\n  ports: [80, 443\nother: x\n");
    EXPECT_FALSE(bad.wellFormed);
    EXPECT_NE(bad.error.find("line "), std::string::npos) << bad.error;

    EXPECT_TRUE(checkConfig("yaml", "{{- if .Values.enabled }}\nkind: Service\n{{- end }}\n").meta["template"]);

    EXPECT_TRUE(checkConfig("toml", "# build\n[package]\nname = \"x\"\nversion = \"1.0\"\n").wellFormed);
    ConfigResult badToml = checkConfig("toml", "[package]\nname = \"x\"\nname = \"y\"\n");
    EXPECT_FALSE(badToml.wellFormed);
    EXPECT_NE(badToml.error.find("line 3"), std::string::npos) << badToml.error;

    EXPECT_TRUE(checkConfig("xml", "<?xml version=\"1.0\"?>\n<!-- c -->\n<a><b>text</b></a>\n").wellFormed);
    ConfigResult badXml = checkConfig("xml", "<a>\n<b>text</a>\n");
    EXPECT_FALSE(badXml.wellFormed);
    EXPECT_NE(badXml.error.find("line 2"), std::string::npos) << badXml.error;

    std::string minified = "<root>";
    for (int i = 0; i < 300; ++i) minified += "<item id=\"" + std::to_string(i) + "\">value " + std::to_string(i) + "</item>";
    minified += "</root>";
    ConfigResult re = checkConfig("xml", minified);
    ASSERT_TRUE(re.wellFormed);
    EXPECT_TRUE(re.meta["reindented"]);
    EXPECT_NE(re.text.find("\n  <item id=\"7\">value 7</item>\n"), std::string::npos);

    // Hostile inputs: bounded, no crash.
    EXPECT_FALSE(checkConfig("yaml", std::string(100000, '[')).wellFormed);
    EXPECT_FALSE(checkConfig("toml", "a = " + std::string(100000, '[')).wellFormed);
    std::string deepXml;
    for (int i = 0; i < 100000; ++i) deepXml += "<d>";
    EXPECT_FALSE(checkConfig("xml", deepXml).wellFormed);
    std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'z'; ++c)
        laughs += std::string(1, c) + ": &" + c + " [*" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + "]\n";
    EXPECT_TRUE(checkConfig("yaml", laughs).wellFormed);
}

// Found by fuzz_config_files: yaml-cpp 0.7's LoadAll never returned on a ',' at the top level
// (empty documents forever, memory growing); such a file is now refused with its location.
TEST(ConfigFiles, AStrayCommaDoesNotHangTheYamlCheck) {
    for (const char* text : {",", "- a\n,", "[a],", ", xmiooa>\n$"}) {
        const ConfigResult r = checkConfig("yaml", text);
        EXPECT_FALSE(r.wellFormed) << text;
        EXPECT_EQ(r.error.rfind("line ", 0), 0u) << r.error;
    }
    const ConfigResult docs = checkConfig("yaml", "a: 1\n---\nb: 2\n");
    ASSERT_TRUE(docs.wellFormed) << docs.error;
    EXPECT_EQ(docs.meta["documents"], 2);
}

TEST(ConfigFiles, ThroughIngest) {
    mts::test::TempDir tmp;
    const fs::path src = tmp / "configs";
    writeFile(src / "ok.yaml", "# the web service\nname: web\nreplicas: 3\n");
    writeFile(src / "broken.yml", "name: web\n  - dangling: [\n");
    writeFile(src / "ok.toml", "[tool.black]\nline-length = 100\n");
    writeFile(src / "broken.toml", "[tool\nline-length = 100\n");
    writeFile(src / "ok.xml", "<config><opt name=\"a\">1</opt></config>\n");
    writeFile(src / "broken.xml", "<config><opt></config>\n");
    std::string minified = "<plist>";
    for (int i = 0; i < 300; ++i) minified += "<key>k" + std::to_string(i) + "</key><string>v</string>";
    writeFile(src / "Info.plist", minified + "</plist>");
    writeFile(src / "settings.ini", "[a]\nb = 1\n");  // not parsed: kept as before

    IngestOptions opt;
    opt.sources = {src};
    opt.threads = 1;
    std::map<std::string, Document> docs;
    IngestResult r = ingest(opt, [&](const Document& d) { return docs[fs::path(d.source).filename().string()] = d, true; });
    for (const char* ok : {"ok.yaml", "ok.toml", "ok.xml", "Info.plist", "settings.ini"}) {
        EXPECT_EQ(docs.count(ok), 1u) << ok;
        EXPECT_EQ(docs[ok].kind, "config") << ok;
    }
    EXPECT_NE(docs["ok.yaml"].text.find("# the web service"), std::string::npos);
    EXPECT_EQ(docs["Info.plist"].meta["reindented"], true);
    for (const char* bad : {"broken.yml", "broken.toml", "broken.xml"}) {
        const SkippedFile* s = skipFor(r, bad);
        ASSERT_NE(s, nullptr) << bad;
        EXPECT_EQ(s->reason, "malformed") << bad;
        EXPECT_NE(s->detail.find("line "), std::string::npos) << s->detail;
    }
}
