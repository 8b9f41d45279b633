#include "mts/ingest/gitignore.h"

#include <fnmatch.h>

namespace mts::ingest {
namespace {

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t slash = s.find('/', start);
        if (slash == std::string::npos) slash = s.size();
        if (slash > start) out.push_back(s.substr(start, slash - start));
        start = slash + 1;
    }
    return out;
}

bool matchSegments(const std::vector<std::string>& pat, size_t pi, const std::vector<std::string>& path, size_t si) {
    if (pi == pat.size()) return si == path.size();
    if (pat[pi] == "**") {
        for (size_t k = si; k <= path.size(); ++k)
            if (matchSegments(pat, pi + 1, path, k)) return true;
        return false;
    }
    if (si == path.size()) return false;
    if (fnmatch(pat[pi].c_str(), path[si].c_str(), 0) != 0) return false;
    return matchSegments(pat, pi + 1, path, si + 1);
}

}  // namespace

void IgnoreRules::addFile(const std::string& dirRel, std::string_view content) {
    size_t start = 0;
    while (start < content.size()) {
        size_t nl = content.find('\n', start);
        if (nl == std::string_view::npos) nl = content.size();
        std::string line(content.substr(start, nl - start));
        start = nl + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        // Trailing spaces are ignored unless escaped with a backslash.
        while (!line.empty() && line.back() == ' ' && !(line.size() >= 2 && line[line.size() - 2] == '\\'))
            line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        Rule r;
        r.base = dirRel;
        if (line[0] == '!') {
            r.negate = true;
            line.erase(0, 1);
        } else if (line[0] == '\\' && line.size() > 1 && (line[1] == '#' || line[1] == '!')) {
            line.erase(0, 1);
        }
        if (!line.empty() && line.back() == '/') {
            r.dirOnly = true;
            line.pop_back();
        }
        if (line.empty()) continue;
        r.anchored = line.find('/') != std::string::npos;
        r.segments = split(line);
        if (r.segments.empty()) continue;
        m_rules.push_back(std::move(r));
    }
}

bool IgnoreRules::isIgnored(const std::string& relPath, bool isDir) const {
    bool ignored = false;
    std::vector<std::string> segs;
    std::string lastBase = "\x01";
    for (const Rule& r : m_rules) {
        if (r.dirOnly && !isDir) continue;
        if (r.base != lastBase) {
            lastBase = r.base;
            segs.clear();
            if (!r.base.empty()) {
                if (relPath.size() <= r.base.size() || relPath.compare(0, r.base.size(), r.base) != 0 ||
                    relPath[r.base.size()] != '/')
                    continue;
                segs = split(relPath.substr(r.base.size() + 1));
            } else {
                segs = split(relPath);
            }
        }
        if (segs.empty()) continue;
        bool match = r.anchored ? matchSegments(r.segments, 0, segs, 0)
                                : fnmatch(r.segments[0].c_str(), segs.back().c_str(), 0) == 0;
        if (match) ignored = !r.negate;
    }
    return ignored;
}

}  // namespace mts::ingest
