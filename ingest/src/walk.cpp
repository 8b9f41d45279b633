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
#include "mts/ingest/text_clean.h"

namespace mts::ingest::detail {
namespace {

constexpr int kMaxDepth = 256;

std::string gitErrorMessage() {
    const git_error* e = git_error_last();
    return e && e->message ? e->message : "unknown libgit2 error";
}

bool cancelled(const IngestOptions& o) { return o.cancel && o.cancel->load(); }

std::string readSmallFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

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
    out.tasks.push_back(std::move(t));
}

void walkFolder(const std::filesystem::path& root, const std::string& display, const IngestOptions& options,
                WalkOutput& out, const SkipFn& skip) {
    // Inside a repository (but not at its root, or with useGitTree off): libgit2's rules.
    git_repository* repo = nullptr;
    std::filesystem::path workdir;
    if (options.followGitignore && git_repository_open_ext(&repo, root.c_str(), 0, nullptr) == 0) {
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
    const std::filesystem::path canonRoot = std::filesystem::weakly_canonical(root);

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
                rules.addFile(dir.rel, readSmallFile(dir.path / ".gitignore"));
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
            if (S_ISDIR(st.st_mode)) {
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
    (void)canonRoot;
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
            addFileTask(src, display, st, options, out, skip);
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            skip(display, "special-file", "not a regular file or folder");
            continue;
        }
        // A repository root (work tree with .git, or a bare repository) -> its tracked tree.
        git_repository* repo = nullptr;
        bool gitRoot = false;
        if (options.useGitTree &&
            git_repository_open_ext(&repo, src.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) == 0) {
            gitRoot = true;
        }
        if (gitRoot) {
            walkGitTree(src, display, repo, options, out, skip);
            git_repository_free(repo);
        } else {
            walkFolder(src, display, options, out, skip);
        }
    }
}

}  // namespace mts::ingest::detail
