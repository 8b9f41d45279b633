// Issue #13 item 2: the walk stays inside the dropped folder (links, .git files, alternates)
// and leaves obvious secrets out unless asked.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <git2.h>

#include "mts/ingest/ingest.h"
#include "mts/ingest/secrets.h"
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

bool anyDocContains(const std::map<std::string, std::string>& docs, const std::string& needle) {
    for (const auto& [_, text] : docs)
        if (text.find(needle) != std::string::npos) return true;
    return false;
}

// A one-file repository at `dir` with `name` holding `text`, committed.
void makeRepo(const fs::path& dir, const std::string& name, const std::string& text) {
    git_repository* repo = nullptr;
    ASSERT_EQ(git_repository_init(&repo, dir.c_str(), 0), 0);
    writeFile(dir / name, text);
    git_index* index = nullptr;
    git_repository_index(&index, repo);
    ASSERT_EQ(git_index_add_bypath(index, name.c_str()), 0);
    git_index_write(index);
    git_oid treeId, commitId;
    git_index_write_tree(&treeId, index);
    git_tree* tree = nullptr;
    git_tree_lookup(&tree, repo, &treeId);
    git_signature* sig = nullptr;
    git_signature_new(&sig, "Test", "test@example.com", 1700000000, 0);
    ASSERT_EQ(git_commit_create(&commitId, repo, "HEAD", sig, sig, nullptr, "c", tree, 0, nullptr), 0);
    git_signature_free(sig);
    git_tree_free(tree);
    git_index_free(index);
    git_repository_free(repo);
}

}  // namespace

TEST(WalkSafety, SymlinksLeavingTheFolderAreNotFollowed) {
    mts::test::TempDir tmp;
    const fs::path outside = tmp.path() / "outside", drop = tmp.path() / "drop";
    writeFile(outside / "private.txt", "OUTSIDE TEXT that must not be read");
    writeFile(outside / "deeper" / "notes.md", "OUTSIDE NOTES");
    writeFile(drop / "inside.txt", "inside text");
    writeFile(drop / "sub" / "a.txt", "sub text");
    fs::create_directory_symlink(outside, drop / "abs-dir-link");          // absolute, outside
    fs::create_directory_symlink("../outside/deeper", drop / "rel-dir-link");  // relative, outside
    fs::create_symlink("../outside/private.txt", drop / "file-link.txt");  // a file outside
    fs::create_symlink("../drop/sub/a.txt", drop / "inside-link.txt");     // leaves and comes back: inside
    fs::create_directory_symlink("sub", drop / "zz-sub-link");              // inside

    IngestOptions opt;
    opt.sources = {drop};
    opt.threads = 1;
    IngestResult r;
    auto docs = ingestTexts(opt, &r);
    EXPECT_FALSE(anyDocContains(docs, "OUTSIDE"));
    EXPECT_TRUE(anyDocContains(docs, "inside text"));
    EXPECT_TRUE(anyDocContains(docs, "sub text"));
    for (const char* name : {"abs-dir-link/", "rel-dir-link/", "file-link.txt"}) {
        const SkippedFile* s = skipFor(r, name);
        ASSERT_NE(s, nullptr) << name << " not reported";
        EXPECT_EQ(s->reason, "symlink-outside") << name;
        EXPECT_NE(s->detail.find(fs::canonical(outside).string()), std::string::npos) << s->detail;
    }
    EXPECT_NE(reasonFor(r, "inside-link.txt"), "symlink-outside");
    EXPECT_NE(reasonFor(r, "zz-sub-link/"), "symlink-outside");
    EXPECT_EQ(r.skippedByReason["symlink-outside"], 3u);

    // A dropped link to the folder is the folder: its inside links still count as inside.
    fs::create_directory_symlink(drop, tmp.path() / "drop-link");
    opt.sources = {tmp.path() / "drop-link"};
    auto viaLink = ingestTexts(opt, &r);
    EXPECT_FALSE(anyDocContains(viaLink, "OUTSIDE"));
    EXPECT_TRUE(anyDocContains(viaLink, "inside text"));
    EXPECT_EQ(r.skippedByReason["symlink-outside"], 3u);

    // Opting in follows them (the old behaviour).
    opt.sources = {drop};
    opt.followLinksOutside = true;
    auto followed = ingestTexts(opt, &r);
    EXPECT_TRUE(anyDocContains(followed, "OUTSIDE TEXT"));
    EXPECT_TRUE(anyDocContains(followed, "OUTSIDE NOTES"));
    EXPECT_EQ(r.skippedByReason.count("symlink-outside"), 0u);
}

TEST(WalkSafety, SecretsAreSkippedAndReportedUnlessIncluded) {
    mts::test::GitLibrary git;
    mts::test::TempDir tmp;
    const fs::path home = tmp.path() / "home";
    const std::string key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    writeFile(home / ".ssh" / "config", "Host x\n  User me\n");
    writeFile(home / "keys" / "id_ed25519", key);
    writeFile(home / "keys" / "id_ed25519.pub", "ssh-ed25519 AAAAC3Nza public key\n");
    writeFile(home / "keys" / "server.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    writeFile(home / "notes.txt", "my notes\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n");
    writeFile(home / "putty.txt", "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n");
    writeFile(home / "app" / ".env", "API_KEY=sk-live-123\n");
    writeFile(home / "app" / ".env.production", "DB_PASSWORD=hunter2\n");
    writeFile(home / "app" / ".env.example", "API_KEY=put-yours-here\n");
    writeFile(home / ".netrc", "machine example.com login me password hunter2\n");
    writeFile(home / ".pgpass", "localhost:5432:db:me:hunter2\n");
    writeFile(home / ".git-credentials", "https://me:token@github.com\n");
    writeFile(home / ".aws" / "credentials", "[default]\naws_secret_access_key = abc\n");
    writeFile(home / "Library" / "login.keychain-db", "keychain bytes as text\n");
    writeFile(home / "README.md", "# A home folder\n\nHow to use a key: never paste it.\n");

    IngestOptions opt;
    opt.sources = {home};
    opt.threads = 1;
    IngestResult r;
    auto docs = ingestTexts(opt, &r);
    for (const char* name : {".ssh/", "id_ed25519", "server.pem", "notes.txt", "putty.txt", "app/.env",
                             ".env.production", ".netrc", ".pgpass", ".git-credentials", ".aws/credentials",
                             "login.keychain-db"})
        EXPECT_EQ(reasonFor(r, name), "secret") << name;
    EXPECT_FALSE(anyDocContains(docs, "PRIVATE KEY"));
    EXPECT_FALSE(anyDocContains(docs, "hunter2"));
    EXPECT_FALSE(anyDocContains(docs, "sk-live"));
    EXPECT_TRUE(anyDocContains(docs, "put-yours-here"));  // templates are not secrets
    EXPECT_TRUE(anyDocContains(docs, "public key"));
    EXPECT_TRUE(anyDocContains(docs, "A home folder"));
    EXPECT_NE(skipFor(r, "app/.env")->detail.find("include-secrets"), std::string::npos);

    opt.includeSecrets = true;
    auto all = ingestTexts(opt, &r);
    EXPECT_EQ(r.skippedByReason.count("secret"), 0u);
    EXPECT_TRUE(anyDocContains(all, "sk-live"));
    EXPECT_TRUE(anyDocContains(all, "PRIVATE KEY"));

    // A repository with a committed .env: the git tree walk leaves it out as well.
    const fs::path repo = tmp.path() / "repo";
    makeRepo(repo, ".env", "SECRET_TOKEN=abc123\n");
    opt.includeSecrets = false;
    opt.sources = {repo};
    auto fromGit = ingestTexts(opt, &r);
    ASSERT_EQ(r.gitSources.size(), 1u);
    EXPECT_EQ(reasonFor(r, "/.env"), "secret");
    EXPECT_FALSE(anyDocContains(fromGit, "SECRET_TOKEN"));
}

TEST(WalkSafety, SecretNames) {
    EXPECT_FALSE(secretFileReason("a/id_rsa").empty());
    EXPECT_TRUE(secretFileReason("a/id_rsa.pub").empty());
    EXPECT_FALSE(secretFileReason("x/.env.local").empty());
    EXPECT_TRUE(secretFileReason("x/.env.sample").empty());
    EXPECT_TRUE(secretFileReason("x/environment.md").empty());
    EXPECT_TRUE(secretFileReason("credentials").empty());  // not in .aws
    EXPECT_FALSE(secretFolderReason(".gnupg").empty());
    EXPECT_TRUE(containsPrivateKey("x\n-----BEGIN EC PRIVATE KEY-----\n"));
    EXPECT_TRUE(containsPrivateKey("-----BEGIN PGP PRIVATE KEY BLOCK-----\n"));
    EXPECT_FALSE(containsPrivateKey("-----BEGIN PUBLIC KEY-----\n"));
    EXPECT_FALSE(containsPrivateKey("Keys start with -----BEGIN and say PRIVATE KEY somewhere\n"));
}

TEST(WalkSafety, GitFilePointingOutsideIsNotFollowed) {
    mts::test::GitLibrary git;
    mts::test::TempDir tmp;
    const fs::path other = tmp.path() / "other-repo", drop = tmp.path() / "drop";
    makeRepo(other, "theirs.txt", "FROM THE OUTSIDE REPOSITORY");
    writeFile(drop / "mine.txt", "my own text");
    writeFile(drop / ".git", "gitdir: ../other-repo/.git\n");

    IngestOptions opt;
    opt.sources = {drop};
    opt.threads = 1;
    IngestResult r;
    auto docs = ingestTexts(opt, &r);
    EXPECT_FALSE(anyDocContains(docs, "OUTSIDE REPOSITORY"));
    EXPECT_TRUE(anyDocContains(docs, "my own text"));  // read from disk instead
    EXPECT_TRUE(r.gitSources.empty());
    const SkippedFile* s = skipFor(r, "drop/.git");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->reason, "git-link-outside");
    EXPECT_NE(s->detail.find("other-repo"), std::string::npos) << s->detail;

    // A repository inside the folder that borrows its objects from outside (alternates).
    const fs::path borrower = tmp.path() / "borrower";
    makeRepo(borrower, "own.txt", "borrower text");
    writeFile(borrower / ".git" / "objects" / "info" / "alternates", fs::canonical(other / ".git" / "objects").string() + "\n");
    opt.sources = {borrower};
    docs = ingestTexts(opt, &r);
    EXPECT_TRUE(r.gitSources.empty());
    EXPECT_TRUE(anyDocContains(docs, "borrower text"));
    EXPECT_EQ(reasonFor(r, "borrower/.git/"), "vendored-dir");

    // A nested .git file (a submodule's link) is not ingested as text.
    writeFile(drop / "sub" / ".git", "gitdir: ../../other-repo/.git\n");
    writeFile(drop / "sub" / "s.txt", "submodule work tree text");
    opt.sources = {drop};
    docs = ingestTexts(opt, &r);
    EXPECT_EQ(reasonFor(r, "sub/.git"), "git-link");
    EXPECT_FALSE(anyDocContains(docs, "gitdir:"));
}
