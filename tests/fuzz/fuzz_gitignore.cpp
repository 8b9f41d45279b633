// libFuzzer: the .gitignore matcher (gitignore.h). The input is a .gitignore file and, after
// the first NUL, paths to test (one per line). Checks: matching stays polynomial (the step
// counter of globMatch never exceeds (|pattern| + 1) x (|name| + 1)), and a path that a rule
// names literally (no glob characters, not negated, not dir-only, no rules after it) matches.
#include <vector>

#include "fuzz_target.h"
#include "mts/ingest/gitignore.h"

MTS_FUZZ_TARGET(gitignore) {
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    const size_t nul = all.find('\0');
    const std::string_view rules = all.substr(0, nul);
    const std::string_view paths = nul == std::string_view::npos ? std::string_view() : all.substr(nul + 1);
    mts::ingest::IgnoreRules ignore;
    ignore.addFile("", rules);
    ignore.addFile("sub", rules);
    std::vector<std::string_view> lines;
    for (size_t start = 0; start <= paths.size() && lines.size() < 64;) {
        size_t nl = paths.find('\n', start);
        if (nl == std::string_view::npos) nl = paths.size();
        lines.push_back(paths.substr(start, nl - start));
        start = nl + 1;
    }
    for (std::string_view path : lines) {
        (void)ignore.isIgnored(std::string(path), false);
        (void)ignore.isIgnored(std::string(path), true);
        for (size_t start = 0; start < rules.size();) {
            size_t nl = rules.find('\n', start);
            if (nl == std::string_view::npos) nl = rules.size();
            const std::string_view pattern = rules.substr(start, nl - start);
            start = nl + 1;
            uint64_t steps = 0;
            (void)mts::ingest::globMatch(pattern, path, &steps);
            MTS_FUZZ_CHECK(steps <= (pattern.size() + 1) * (path.size() + 1));
            steps = 0;
            (void)mts::ingest::globMatchPath(pattern, path, &steps);
            MTS_FUZZ_CHECK(steps <= (pattern.size() + 1) * (path.size() + 1));
        }
    }
    // A literal file name as the only rule ignores that file anywhere.
    if (!lines.empty()) {
        std::string name(lines.front());
        if (!name.empty() && name.find_first_of(std::string_view("*?[]\\!#/ \r\n\0", 13)) == std::string::npos && name.size() < 64) {
            mts::ingest::IgnoreRules one;
            one.addFile("", name + "\n");
            MTS_FUZZ_CHECK(one.isIgnored(name, false));
            MTS_FUZZ_CHECK(one.isIgnored("a/b/" + name, false));
        }
    }
    return 0;
}
