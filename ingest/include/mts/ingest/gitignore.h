#pragma once
// .gitignore rules for folders that are not inside a git repository (inside one, the walker
// asks libgit2 instead). Supports what people write in practice: comments, "!" negation,
// trailing "/" (folders only), leading or inner "/" (anchored to the .gitignore's folder),
// "*", "?", "[...]" (fnmatch(3) syntax, backslash escapes) and "**" as whole path segments;
// the last matching rule wins and rules of deeper .gitignore files come later, as in git.
// Matching is polynomial whatever the pattern (no backtracking search): a segment glob is
// O(pattern x name), a path O(segments of pattern x segments of path) glob calls, so a
// hostile .gitignore ("**/**/**/...", "*a*a*a*a*b") cannot stall the walk.
// Not thread-safe for concurrent addFile; isIgnored is const and may run concurrently.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mts::ingest {

class IgnoreRules {
public:
    /// Adds the rules of the .gitignore that lives in folder `dirRel` ("" for the root,
    /// else "a/b" relative to the root, '/'-separated).
    void addFile(const std::string& dirRel, std::string_view content);

    /// relPath is '/'-separated, relative to the root. Parent folders are not checked (the
    /// walker does not descend into ignored folders).
    bool isIgnored(const std::string& relPath, bool isDir) const;

    size_t size() const { return m_rules.size(); }

    /// Rule count above which further rules of a file are dropped (a hostile .gitignore).
    static constexpr size_t kMaxRules = 100000;

private:
    struct Rule {
        std::string base;                   // folder of the .gitignore ("" or "a/b")
        std::vector<std::string> segments;  // pattern split at '/'
        bool negate = false;
        bool dirOnly = false;
        bool anchored = false;              // match from base, else any basename
    };
    std::vector<Rule> m_rules;
};

/// One glob against one path segment (no '/'): '*', '?', '[abc]', '[a-z]', '[!x]' / '[^x]',
/// '\\x' escapes, as fnmatch(3) without flags. `steps`, when given, grows by the number of
/// character comparisons made (at most (|pattern| + 1) x (|name| + 1)).
bool globMatch(std::string_view pattern, std::string_view name, uint64_t* steps = nullptr);

/// A '/'-separated pattern against a '/'-separated path, whole segments each, "**" matching
/// zero or more segments. `steps` as above, summed over the segment globs.
bool globMatchPath(std::string_view pattern, std::string_view path, uint64_t* steps = nullptr);

}  // namespace mts::ingest
