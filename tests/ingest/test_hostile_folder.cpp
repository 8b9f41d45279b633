#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>

#include "mts/ingest/ingest.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::writeFile;

using namespace mts::ingest;
namespace fs = std::filesystem;

namespace {

}  // namespace

// A folder of hostile inputs: the ingest completes, every file is either a document or a
// skip with the right reason.
TEST(HostileFolder, CompletesAndExplainsEverySkip) {
    mts::test::TempDir tmp;
    const fs::path root = tmp.path() / "hostile";
    writeFile(root / "binary.txt", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10", 20) + std::string(500, '\x01'));
    writeFile(root / "invalid-utf8.txt", "caf\xE9 au lait \xFF\xFE still text, mostly valid");
    writeFile(root / "many-nuls.txt", std::string("text\0with\0nuls\0\0\0\0", 18));
    writeFile(root / "one-nul-late.txt", std::string(9000, 'a') + std::string("\0", 1) + "tail");
    writeFile(root / "empty.txt", "");
    writeFile(root / "blank.txt", "\n\n   \r\n\x01\x02\n");
    writeFile(root / "noperm.txt", "secret but maybe readable by root");
    ::chmod((root / "noperm.txt").c_str(), 0);
    const bool root_user = ::geteuid() == 0;
    fs::create_directory_symlink(".", root / "loop");                 // points back at its folder
    fs::create_symlink("self-link", root / "self-link");             // ELOOP
    fs::create_symlink("does-not-exist", root / "dangling");
    fs::path deep = root / "deep";
    for (int i = 0; i < 60; ++i) deep /= "d" + std::to_string(i % 10);
    writeFile(deep / "bottom.md", "# the bottom of a deep tree");
    for (int i = 0; i < 10000; ++i) {
        char name[32];
        std::snprintf(name, sizeof(name), "f%05d.txt", i);
        writeFile(root / "many" / std::to_string(i / 1000) / name, "small file number " + std::to_string(i));
    }
    std::string hugeLine;
    while (hugeLine.size() < (6u << 20)) hugeLine += "word" + std::to_string(hugeLine.size() % 977) + " ";
    writeFile(root / "huge-line.txt", hugeLine);
    writeFile(root / "app.js", std::string(5000, 'x') + ";var a=1;" + std::string(5000, 'y'));
    writeFile(root / "too-big.txt", std::string((8u << 20) + 1, 'z'));
    writeFile(root / "node_modules/pkg/index.js", "module.exports = {};");
    writeFile(root / "__pycache__/m.cpython-311.pyc", "\x42\x0d\x0d\x0a");
    writeFile(root / "package-lock.json", "{\"lockfileVersion\": 3}");
    writeFile(root / "backup.bak", std::string("PK\x03\x04\x14\0\0\0", 8) + "zipdata");
    writeFile(root / "photo.png", "\x89PNG");
    writeFile(root / ".gitignore", "*.secret\n");
    writeFile(root / "key.secret", "ignored by .gitignore");
    writeFile(root / std::string("bad-\xFF-name.txt"), "the name is not UTF-8");
    ::mkfifo((root / "pipe").c_str(), 0600);
    writeFile(root / "ok.md", "# Fine\n\nA normal markdown file.");

    IngestOptions opt;
    opt.sources = {root};
    opt.maxFileBytes = 8u << 20;
    opt.threads = 2;
    std::map<std::string, std::string> docs;
    IngestResult r = ingest(opt, [&](const Document& d) {
        EXPECT_EQ(docs.count(d.source), 0u) << "delivered twice: " << d.source;
        docs[d.source] = d.text;
        return true;
    });
    ::chmod((root / "noperm.txt").c_str(), 0600);  // let TempDir clean up

    std::map<std::string, std::string> reasons;  // file name (last component) -> reason
    for (const auto& s : r.skipped) {
        std::string p = s.path;
        while (!p.empty() && p.back() == '/') p.pop_back();
        reasons[p.substr(p.rfind('/') + 1)] = s.reason;
        EXPECT_FALSE(s.detail.empty()) << s.path;
    }
    const std::string base = root.string() + "/";
    EXPECT_EQ(reasons["binary.txt"], "binary");
    EXPECT_EQ(reasons["many-nuls.txt"], "binary");
    EXPECT_EQ(reasons["empty.txt"], "empty");
    EXPECT_EQ(reasons["blank.txt"], "empty");
    EXPECT_EQ(reasons["loop"], "symlink-loop");
    EXPECT_EQ(reasons["self-link"], "symlink-loop");
    EXPECT_EQ(reasons["dangling"], "broken-symlink");
    EXPECT_EQ(reasons["app.js"], "minified");
    EXPECT_EQ(reasons["too-big.txt"], "too-large");
    EXPECT_EQ(reasons["node_modules"], "vendored-dir");
    EXPECT_EQ(reasons["__pycache__"], "vendored-dir");
    EXPECT_EQ(reasons["package-lock.json"], "lock-file");
    EXPECT_EQ(reasons["backup.bak"], "archive");
    EXPECT_EQ(reasons["photo.png"], "image");
    EXPECT_EQ(reasons["key.secret"], "gitignored");
    EXPECT_EQ(reasons["bad-\\xFF-name.txt"], "non-utf8-path");
    EXPECT_EQ(reasons["pipe"], "special-file");
    if (root_user) {
        // root reads mode-000 files: it is ingested, not skipped.
        EXPECT_EQ(docs.count(base + "noperm.txt"), 1u);
    } else {
        EXPECT_EQ(reasons["noperm.txt"], "unreadable");
    }

    // Ingested, cleaned.
    ASSERT_EQ(docs.count(base + "invalid-utf8.txt"), 1u);
    EXPECT_NE(docs[base + "invalid-utf8.txt"].find("\xEF\xBF\xBD"), std::string::npos);
    EXPECT_GE(r.utf8RepairedFiles, 1u);
    EXPECT_GE(r.utf8Replacements, 2u);
    ASSERT_EQ(docs.count(base + "one-nul-late.txt"), 1u);
    EXPECT_EQ(docs[base + "one-nul-late.txt"].find('\0'), std::string::npos);
    EXPECT_EQ(docs.count((deep / "bottom.md").string()), 1u);
    ASSERT_EQ(docs.count(base + "huge-line.txt"), 1u);
    EXPECT_EQ(docs[base + "huge-line.txt"].size(), hugeLine.size() - 1);  // trailing space trimmed
    EXPECT_EQ(docs.count(base + "ok.md"), 1u);
    size_t small = 0;
    for (const auto& [src, _] : docs) small += src.find("/many/") != std::string::npos;
    EXPECT_EQ(small, 10000u);

    // Every candidate file is accounted for: delivered, skipped or a duplicate.
    EXPECT_EQ(r.documents, docs.size());
    EXPECT_FALSE(r.cancelled);
    nlohmann::json report = toJson(r);
    EXPECT_NO_THROW(report.dump());  // valid UTF-8 throughout (the bad name is escaped)
    EXPECT_EQ(report["skipped_by_reason"]["symlink-loop"], 2);
}
