#pragma once
// .gitignore rules for folders that are not inside a git repository (inside one, the walker
// asks libgit2 instead). Supports what people write in practice: comments, "!" negation,
// trailing "/" (folders only), leading or inner "/" (anchored to the .gitignore's folder),
// "*", "?", "[...]" (via fnmatch) and "**" as whole path segments; the last matching rule wins
// and rules of deeper .gitignore files come later, as in git.
// Not thread-safe for concurrent addFile; isIgnored is const and may run concurrently.
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

}  // namespace mts::ingest
