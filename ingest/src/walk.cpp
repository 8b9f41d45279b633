// Enumerating sources: folders on disk (with .gitignore), git trees, single files.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "internal.h"
#include "mts/ingest/detect.h"
#include "mts/ingest/gitignore.h"
#include "mts/ingest/secrets.h"
#include "mts/ingest/text_clean.h"

namespace mts::ingest::detail {
namespace {

constexpr int kMaxDepth = 256;
constexpr size_t kMaxGitignoreBytes = 1u << 20;  // a larger .gitignore is read up to this

std::string gitErrorMessage() {
    const git_error* e = git_error_last();
    return e && e->message ? e->message : "unknown libgit2 error";
}

bool cancelled(const IngestOptions& o) { return o.cancel && o.cancel->load(); }

std::string readSmallFile(const std::filesystem::path& p, size_t limit) {
    std::ifstream in(p, std::ios::binary);
    std::string out(limit, '\0');
    in.read(out.data(), static_cast<std::streamsize>(limit));
    out.resize(static_cast<size_t>(in.gcount()));
    return out;
}

// True when `real` (a canonical path) is `root` or lies below it.
bool isInside(const std::filesystem::path& real, const std::filesystem::path& root) {
    const std::string& r = root.native();
    const std::string& p = real.native();
    if (p.size() < r.size() || p.compare(0, r.size(), r) != 0) return false;
    return p.size() == r.size() || p[r.size()] == '/' || r == "/";
}

std::filesystem::path canonicalOrEmpty(const std::filesystem::path& p) {
    std::error_code ec;
    std::filesystem::path c = std::filesystem::canonical(p, ec);
    return ec ? std::filesystem::path() : c;
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
    size_t a = 0;
    while (a < s.size() && (s[a] == ' ' || s[a] == '\t')) ++a;
    return s.substr(a);
}

// Where the repository of folder `src` keeps its data, checked to stay inside `canonSrc`:
// the git dir (a .git folder, a .git file's "gitdir:" or a .git link; or src itself when it is
// a bare repository), its commondir and its object alternates. Returns "" when everything is
// inside (or there is no repository), else a sentence naming what points outside.
std::string gitDataOutside(const std::filesystem::path& src, const std::filesystem::path& canonSrc) {
    namespace fs = std::filesystem;
    const fs::path dotgit = src / ".git";
    struct stat st {};
    fs::path gitdir;
    if (::lstat(dotgit.c_str(), &st) == 0) {
        if (S_ISREG(st.st_mode)) {
            const std::string line = trimmed(readSmallFile(dotgit, 4096).substr(0, 4096));
            if (line.rfind("gitdir:", 0) != 0) return {};
            fs::path target = trimmed(line.substr(7));
            if (target.is_relative()) target = src / target;
            gitdir = canonicalOrEmpty(target);
            if (gitdir.empty()) return fmt::format(".git file points to {}, which does not exist", displayPath(target));
        } else {
            gitdir = canonicalOrEmpty(dotgit);  // a folder, or a link to one
        }
    } else {
        struct stat head {};
        if (::stat((src / "HEAD").c_str(), &head) != 0 || !std::filesystem::is_directory(src / "objects"))
            return {};  // not a repository
        gitdir = canonSrc;  // a bare repository
    }
    if (gitdir.empty()) return {};
    if (!isInside(gitdir, canonSrc)) return fmt::format(".git leads to {}, outside the dropped folder", displayPath(gitdir));
    fs::path common = gitdir;
    const std::string commondir = trimmed(readSmallFile(gitdir / "commondir", 4096));
    if (!commondir.empty()) {
        fs::path c = commondir;
        if (c.is_relative()) c = gitdir / c;
        common = canonicalOrEmpty(c);
        if (common.empty() || !isInside(common, canonSrc))
            return fmt::format("the repository's commondir {} lies outside the dropped folder", displayPath(c));
    }
    const fs::path objects = canonicalOrEmpty(common / "objects");
    if (!objects.empty() && !isInside(objects, canonSrc))
        return fmt::format("the object store {} lies outside the dropped folder", displayPath(objects));
    const std::string alternates = readSmallFile(common / "objects" / "info" / "alternates", 1u << 16);
    size_t start = 0;
    while (start < alternates.size()) {
        size_t nl = alternates.find('\n', start);
        if (nl == std::string::npos) nl = alternates.size();
        const std::string line = trimmed(alternates.substr(start, nl - start));
        start = nl + 1;
        if (line.empty() || line[0] == '#') continue;
        fs::path alt = line;
        if (alt.is_relative()) alt = common / "objects" / alt;
        const fs::path real = canonicalOrEmpty(alt);
        if (real.empty() || !isInside(real, canonSrc))
            return fmt::format("objects/info/alternates borrows objects from {}, outside the dropped folder",
                               displayPath(alt));
    }
    return {};
}

const char* kSecretHint = " (not read; use --include-secrets / \"Include secrets\" to read it)";

std::string joinRel(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }

// ---- git tree ----

struct TreeWalk {
    const IngestOptions& options;
    WalkOutput& out;
    const SkipFn& skip;
    git_repository* repo;
    int repoIndex;
    std::string display;
    git_odb* odb = nullptr;
};

int treeCallback(const char* root, const git_tree_entry* entry, void* payload) {
    auto& w = *static_cast<TreeWalk*>(payload);
    if (cancelled(w.options)) return -1;
    const std::string name = git_tree_entry_name(entry);
    const std::string rel = std::string(root) + name;
    const std::string shown = w.display + "/" + rel;
    if (!isValidUtf8(rel)) {
        w.skip(repairUtf8(shown), "non-utf8-path", "path is not valid UTF-8");
        return git_tree_entry_type(entry) == GIT_OBJECT_TREE ? 1 : 0;
    }
    const git_object_t type = git_tree_entry_type(entry);
    int ignored = 0;
    if (w.options.followGitignore && type != GIT_OBJECT_COMMIT)
        git_ignore_path_is_ignored(&ignored, w.repo, type == GIT_OBJECT_TREE ? (rel + "/").c_str() : rel.c_str());
    if (type == GIT_OBJECT_TREE) {
        if (!w.options.includeSecrets) {
            if (std::string why = secretFolderReason(name); !why.empty()) {
                w.skip(shown + "/", "secret", why + kSecretHint);
                return 1;
            }
        }
        if (isVendoredDirName(name)) {
            w.skip(shown + "/", "vendored-dir", "vendored or generated folder, not descended into");
            return 1;
        }
        if (ignored) {
            w.skip(shown + "/", "gitignored", "folder matches .gitignore");
            return 1;
        }
        return 0;
    }
    if (type == GIT_OBJECT_COMMIT) {
        w.skip(shown, "submodule", "git submodule (not followed)");
        return 0;
    }
    if (type != GIT_OBJECT_BLOB) return 0;
    if (git_tree_entry_filemode(entry) == GIT_FILEMODE_LINK) {
        w.skip(shown, "symlink", "symbolic link stored in git (target path, not content)");
        return 0;
    }
    if (ignored) {
        w.skip(shown, "gitignored", "tracked, but matches .gitignore");
        return 0;
    }
    if (!w.options.includeSecrets) {
        if (std::string why = secretFileReason(rel); !why.empty()) {
            w.skip(shown, "secret", why + kSecretHint);
            return 0;
        }
    }
    FileTask t;
    t.source = shown;
    t.name = name;
    t.repo = w.repoIndex;
    git_oid_cpy(&t.blob, git_tree_entry_id(entry));
    size_t len = 0;
    git_object_t otype;
    if (w.odb && git_odb_read_header(&len, &otype, w.odb, &t.blob) == 0) t.size = len;
    if (t.size > w.options.maxFileBytes) {
        w.skip(shown, "too-large", fmt::format("{} bytes, over the {} byte limit", t.size, w.options.maxFileBytes));
        return 0;
    }
    w.out.tasks.push_back(std::move(t));
    return 0;
}

void walkGitTree(const std::filesystem::path& root, const std::string& display, git_repository* repo,
                 const IngestOptions& options, WalkOutput& out, const SkipFn& skip) {
    const std::string rev = options.revision.empty() ? "HEAD" : options.revision;
    git_object* obj = nullptr;
    if (git_revparse_single(&obj, repo, rev.c_str()) != 0) {
        std::string msg = gitErrorMessage();
        skip(display, "git-error", fmt::format("cannot resolve revision {}: {}", rev, msg));
        return;
    }
    git_object* commitObj = nullptr;
    int rc = git_object_peel(&commitObj, obj, GIT_OBJECT_COMMIT);
    git_object_free(obj);
    if (rc != 0) {
        skip(display, "git-error", fmt::format("{} is not a commit: {}", rev, gitErrorMessage()));
        return;
    }
    auto* commit = reinterpret_cast<git_commit*>(commitObj);
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof(hex), git_commit_id(commit));
    git_tree* tree = nullptr;
    if (git_commit_tree(&tree, commit) != 0) {
        skip(display, "git-error", fmt::format("cannot read the tree of {}: {}", hex, gitErrorMessage()));
        git_object_free(commitObj);
        return;
    }
    const int index = static_cast<int>(out.repos.size());
    out.repos.push_back({root, hex});
    out.gitSources.push_back({display, rev, hex});
    TreeWalk w{options, out, skip, repo, index, display};
    git_repository_odb(&w.odb, repo);
    git_tree_walk(tree, GIT_TREEWALK_PRE, &treeCallback, &w);
    git_odb_free(w.odb);
    git_tree_free(tree);
    git_object_free(commitObj);
}

// ---- disk ----

struct DirItem {
    std::filesystem::path path;
    std::string rel;
    int depth;
};

void addFileTask(const std::filesystem::path& p, const std::string& shown, const struct stat& st,
                 const IngestOptions& options, WalkOutput& out, const SkipFn& skip) {
    if (!options.includeSecrets) {
        if (std::string why = secretFileReason(shown); !why.empty()) {
            skip(shown, "secret", why + kSecretHint);
            return;
        }
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size > options.maxFileBytes) {
        skip(shown, "too-large", fmt::format("{} bytes, over the {} byte limit", size, options.maxFileBytes));
        return;
    }
    FileTask t;
    t.source = shown;
    t.name = p.filename().string();
    t.size = size;
    t.mtime = static_cast<int64_t>(st.st_mtime);
    t.diskPath = p;
    t.dev = static_cast<uint64_t>(st.st_dev);
    t.ino = static_cast<uint64_t>(st.st_ino);
    out.tasks.push_back(std::move(t));
}

// rootGitOutside: why the root's .git (file or link) leads outside, "" when it does not; then
// no repository is opened for the ignore rules either (our own matcher reads .gitignore).
void walkFolder(const std::filesystem::path& root, const std::string& display, const IngestOptions& options,
                WalkOutput& out, const SkipFn& skip, const std::string& rootGitOutside) {
    // Inside a repository (but not at its root, or with useGitTree off): libgit2's rules.
    git_repository* repo = nullptr;
    std::filesystem::path workdir;
    if (options.followGitignore && rootGitOutside.empty() &&
        git_repository_open_ext(&repo, root.c_str(), 0, nullptr) == 0) {
        const char* wd = git_repository_workdir(repo);
        if (wd) workdir = std::filesystem::weakly_canonical(wd);
        else {
            git_repository_free(repo);
            repo = nullptr;
        }
    }
    IgnoreRules rules;
    std::set<std::pair<dev_t, ino_t>> visited;
    struct stat rootSt {};
    if (::stat(root.c_str(), &rootSt) == 0) visited.insert({rootSt.st_dev, rootSt.st_ino});
    std::filesystem::path canonRoot = canonicalOrEmpty(root);
    if (canonRoot.empty()) canonRoot = std::filesystem::weakly_canonical(root);

    auto isIgnored = [&](const std::filesystem::path& full, const std::string& rel, bool isDir) {
        if (!options.followGitignore) return false;
        if (repo) {
            std::filesystem::path relToWd = std::filesystem::weakly_canonical(full).lexically_relative(workdir);
            std::string r = relToWd.generic_string();
            if (r.empty() || r.rfind("..", 0) == 0) return false;
            int ign = 0;
            git_ignore_path_is_ignored(&ign, repo, isDir ? (r + "/").c_str() : r.c_str());
            return ign != 0;
        }
        return rules.isIgnored(rel, isDir);
    };

    std::vector<DirItem> stack{{root, "", 0}};
    while (!stack.empty()) {
        if (cancelled(options)) break;
        DirItem dir = std::move(stack.back());
        stack.pop_back();
        const std::string shownDir = dir.rel.empty() ? display : display + "/" + dir.rel;
        if (!repo && options.followGitignore) {
            std::error_code ec;
            if (std::filesystem::is_regular_file(dir.path / ".gitignore", ec))
                rules.addFile(dir.rel, readSmallFile(dir.path / ".gitignore", kMaxGitignoreBytes));
        }
        std::error_code ec;
        std::filesystem::directory_iterator it(dir.path, std::filesystem::directory_options::none, ec);
        if (ec) {
            skip(shownDir + "/", "unreadable", fmt::format("folder cannot be listed: {}", ec.message()));
            continue;
        }
        std::vector<std::filesystem::path> entries;
        for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
            if (ec) break;
            entries.push_back(it->path());
        }
        std::sort(entries.begin(), entries.end());
        std::vector<DirItem> subdirs;
        for (const auto& p : entries) {
            const std::string rawName = p.filename().string();
            const std::string rel = joinRel(dir.rel, rawName);
            const std::string shown = display + "/" + rel;
            if (!isValidUtf8(rawName)) {
                skip(displayPath(p), "non-utf8-path", "file name is not valid UTF-8");
                continue;
            }
            struct stat lst {};
            if (::lstat(p.c_str(), &lst) != 0) {
                skip(shown, "unreadable", std::strerror(errno));
                continue;
            }
            struct stat st = lst;
            const bool isLink = S_ISLNK(lst.st_mode);
            if (isLink && ::stat(p.c_str(), &st) != 0) {
                int err = errno;
                if (err == ELOOP) skip(shown, "symlink-loop", "symbolic link loop (too many levels of links)");
                else skip(shown, "broken-symlink", fmt::format("symbolic link target missing: {}", std::strerror(err)));
                continue;
            }
            if (rawName == ".git" && !S_ISDIR(st.st_mode)) {
                // A .git file is a link to a repository kept elsewhere (worktree, submodule).
                if (dir.depth == 0 && !rootGitOutside.empty())
                    skip(shown, "git-link-outside", rootGitOutside + "; not followed, the folder is read from disk");
                else
                    skip(shown, "git-link", "a .git file (a link to a repository kept elsewhere), not followed");
                continue;
            }
            if (isLink && !options.followLinksOutside) {
                const std::filesystem::path real = canonicalOrEmpty(p);
                if (real.empty() || !isInside(real, canonRoot)) {
                    skip(S_ISDIR(st.st_mode) ? shown + "/" : shown, "symlink-outside",
                         fmt::format("symbolic link to {}, outside {} (not followed)",
                                     real.empty() ? std::string("an unresolvable path") : displayPath(real), display));
                    continue;
                }
            }
            if (S_ISDIR(st.st_mode)) {
                if (!options.includeSecrets) {
                    if (std::string why = secretFolderReason(rawName); !why.empty()) {
                        skip(shown + "/", "secret", why + kSecretHint);
                        continue;
                    }
                }
                if (isVendoredDirName(rawName)) {
                    skip(shown + "/", "vendored-dir", "vendored or generated folder, not descended into");
                    continue;
                }
                if (isIgnored(p, rel, true)) {
                    skip(shown + "/", "gitignored", "folder matches .gitignore");
                    continue;
                }
                if (!visited.insert({st.st_dev, st.st_ino}).second) {
                    skip(shown + "/", "symlink-loop",
                         isLink ? "symbolic link to a folder already walked (a loop or a duplicate)"
                                : "folder already walked (bind mount loop)");
                    continue;
                }
                if (dir.depth + 1 > kMaxDepth) {
                    skip(shown + "/", "too-deep", fmt::format("deeper than {} folders", kMaxDepth));
                    continue;
                }
                subdirs.push_back({p, rel, dir.depth + 1});
            } else if (S_ISREG(st.st_mode)) {
                if (isIgnored(p, rel, false)) {
                    skip(shown, "gitignored", "file matches .gitignore");
                    continue;
                }
                addFileTask(p, shown, st, options, out, skip);
            } else {
                skip(shown, "special-file", "not a regular file (device, socket or pipe)");
            }
        }
        for (auto s = subdirs.rbegin(); s != subdirs.rend(); ++s) stack.push_back(std::move(*s));
    }
    if (repo) git_repository_free(repo);
}

}  // namespace

RepoHandles::~RepoHandles() {
    for (git_repository* r : m_handles)
        if (r) git_repository_free(r);
}

git_repository* RepoHandles::get(int index) {
    if (index < 0 || static_cast<size_t>(index) >= m_handles.size()) return nullptr;
    if (!m_handles[index]) git_repository_open(&m_handles[index], m_repos[index].root.c_str());
    return m_handles[index];
}

void walkSources(const IngestOptions& options, WalkOutput& out, const SkipFn& skip) {
    for (const auto& src : options.sources) {
        if (cancelled(options)) return;
        std::string display = displayPath(src);
        while (display.size() > 1 && display.back() == '/') display.pop_back();
        struct stat st {};
        if (::stat(src.c_str(), &st) != 0) {
            int err = errno;
            skip(display, err == ELOOP ? "symlink-loop" : err == EACCES ? "unreadable" : "not-found",
                 fmt::format("source cannot be opened: {}", std::strerror(err)));
            continue;
        }
        if (S_ISREG(st.st_mode)) {
            addFileTask(src, display, st, options, out, skip);  // chosen by the user: links allowed
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            skip(display, "special-file", "not a regular file or folder");
            continue;
        }
        // A repository root (work tree with .git, or a bare repository) -> its tracked tree,
        // unless its data lies outside the dropped folder (.git file, commondir, alternates).
        std::filesystem::path canonSrc = canonicalOrEmpty(src);
        if (canonSrc.empty()) canonSrc = std::filesystem::weakly_canonical(src);
        const std::string outside = options.followLinksOutside ? std::string() : gitDataOutside(src, canonSrc);
        git_repository* repo = nullptr;
        bool gitRoot = false;
        if (options.useGitTree && outside.empty() &&
            git_repository_open_ext(&repo, src.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) == 0) {
            gitRoot = true;
        }
        if (gitRoot) {
            walkGitTree(src, display, repo, options, out, skip);
            git_repository_free(repo);
        } else {
            walkFolder(src, display, options, out, skip, outside);
        }
    }
}

}  // namespace mts::ingest::detail
