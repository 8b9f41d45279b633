#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <git2.h>

#include "mts/ingest/ingest.h"
#include "shared_data.h"
#include "test_files.h"
#include "ingest_test_support.h"

using mts::test::ingestTexts;
using mts::test::reasonFor;
using mts::test::skipFor;
using mts::test::writeFile;

using namespace mts::ingest;
namespace fs = std::filesystem;

namespace {

// Stages `paths` (force-adding, like `git add -f`) and commits; returns the commit id (hex).
std::string commit(git_repository* repo, const std::vector<std::string>& paths, const std::string& message) {
    git_index* index = nullptr;
    EXPECT_EQ(git_repository_index(&index, repo), 0);
    for (const auto& p : paths) EXPECT_EQ(git_index_add_bypath(index, p.c_str()), 0) << p;
    git_index_write(index);
    git_oid treeId, commitId;
    EXPECT_EQ(git_index_write_tree(&treeId, index), 0);
    git_tree* tree = nullptr;
    git_tree_lookup(&tree, repo, &treeId);
    git_signature* sig = nullptr;
    git_signature_new(&sig, "Test", "test@example.com", 1700000000, 0);
    git_commit* parent = nullptr;
    git_oid headId;
    const bool hasParent = git_reference_name_to_id(&headId, repo, "HEAD") == 0;
    if (hasParent) git_commit_lookup(&parent, repo, &headId);
    const git_commit* parents[] = {parent};
    EXPECT_EQ(git_commit_create(&commitId, repo, "HEAD", sig, sig, nullptr, message.c_str(), tree,
                                hasParent ? 1 : 0, hasParent ? parents : nullptr), 0);
    git_commit_free(parent);
    git_signature_free(sig);
    git_tree_free(tree);
    git_index_free(index);
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof(hex), &commitId);
    return hex;
}

}  // namespace

TEST(GitSource, TrackedNonIgnoredFilesAtHeadWithCommitId) {
    mts::test::GitLibrary git;
    mts::test::TempDir tmp;
    const fs::path root = tmp.path() / "repo";
    git_repository* repo = nullptr;
    ASSERT_EQ(git_repository_init(&repo, root.c_str(), 0), 0);
    writeFile(root / ".gitignore", "*.log\nsecret/\n");
    writeFile(root / "tracked.txt", "version one of the tracked file");
    writeFile(root / "src/main.py", "print('hello from git')\n");
    writeFile(root / "forced.log", "force-added although ignored");
    writeFile(root / "node_modules/lib/index.js", "module.exports = 1;\n");
    const std::string first = commit(repo, {".gitignore", "tracked.txt", "src/main.py", "forced.log",
                                            "node_modules/lib/index.js"}, "first");
    writeFile(root / "tracked.txt", "version two of the tracked file");
    const std::string second = commit(repo, {"tracked.txt"}, "second");
    // Not tracked: an ignored file, an ignored folder, an untracked file, a dirty edit.
    writeFile(root / "debug.log", "ignored log");
    writeFile(root / "secret/key.txt", "ignored folder");
    writeFile(root / "untracked.md", "# never added");
    writeFile(root / "tracked.txt", "uncommitted edit on disk");
    git_repository_free(repo);

    IngestOptions opt;
    opt.sources = {root};
    IngestResult r;
    auto docs = ingestTexts(opt, &r);
    const std::string shown = root.string();
    EXPECT_EQ(docs.size(), 3u);
    ASSERT_EQ(docs.count(shown + "/tracked.txt"), 1u);
    EXPECT_EQ(docs[shown + "/tracked.txt"], "version two of the tracked file");  // HEAD, not the disk
    EXPECT_EQ(docs.count(shown + "/src/main.py"), 1u);
    EXPECT_EQ(docs.count(shown + "/.gitignore"), 1u);
    for (const auto& [src, _] : docs) {
        EXPECT_EQ(src.find("untracked"), std::string::npos);
        EXPECT_EQ(src.find("debug.log"), std::string::npos);
        EXPECT_EQ(src.find("secret"), std::string::npos);
    }
    EXPECT_EQ(reasonFor(r, "/forced.log"), "gitignored");
    EXPECT_EQ(reasonFor(r, "/node_modules/"), "vendored-dir");
    ASSERT_EQ(r.gitSources.size(), 1u);
    EXPECT_EQ(r.gitSources[0].commit, second);
    nlohmann::json manifest = toJson(r);
    EXPECT_EQ(manifest["git"][0]["commit"], second);

    // An older revision reads that commit's blobs.
    opt.revision = first;
    docs = ingestTexts(opt, &r);
    EXPECT_EQ(docs[shown + "/tracked.txt"], "version one of the tracked file");
    EXPECT_EQ(r.gitSources[0].commit, first);

    // A revision that does not exist: skipped with the reason, no crash.
    opt.revision = "no-such-branch";
    docs = ingestTexts(opt, &r);
    EXPECT_TRUE(docs.empty());
    EXPECT_EQ(r.skippedByReason["git-error"], 1u);

    // A sub-folder of the work tree is walked on disk with libgit2's ignore rules.
    IngestOptions sub;
    sub.sources = {root / "src"};
    writeFile(root / "src/trace.log", "ignored by *.log");
    writeFile(root / "src/extra.txt", "on disk only");
    docs = ingestTexts(sub, &r);
    EXPECT_EQ(docs.count((root / "src/extra.txt").string()), 1u);
    EXPECT_EQ(docs.count((root / "src/trace.log").string()), 0u);
    EXPECT_EQ(reasonFor(r, "src/trace.log"), "gitignored");
}

TEST(GitSource, EmptyRepositoryIsReportedNotCrashed) {
    mts::test::GitLibrary git;
    mts::test::TempDir tmp;
    git_repository* repo = nullptr;
    ASSERT_EQ(git_repository_init(&repo, tmp.path().c_str(), 0), 0);
    git_repository_free(repo);
    IngestOptions opt;
    opt.sources = {tmp.path()};
    IngestResult r;
    auto docs = ingestTexts(opt, &r);
    EXPECT_TRUE(docs.empty());
    EXPECT_EQ(r.skippedByReason["git-error"], 1u);
    EXPECT_FALSE(r.skipped.at(0).detail.empty());
}
