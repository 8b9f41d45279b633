#include "mts/ingest/gitignore.h"

#include <cctype>
#include <cstring>

namespace mts::ingest {
namespace {

std::vector<std::string_view> split(std::string_view s) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t slash = s.find('/', start);
        if (slash == std::string_view::npos) slash = s.size();
        if (slash > start) out.push_back(s.substr(start, slash - start));
        start = slash + 1;
    }
    return out;
}

// One pattern element that matches exactly one byte, or a '*'.
struct Token {
    enum Type { Literal, Any, Class, Star } type = Literal;
    unsigned char c = 0;
    bool negate = false;
    bool set[256] = {};
};

bool posixClass(std::string_view name, unsigned char c) {
    if (name == "alpha") return std::isalpha(c);
    if (name == "digit") return std::isdigit(c);
    if (name == "alnum") return std::isalnum(c);
    if (name == "space") return std::isspace(c);
    if (name == "upper") return std::isupper(c);
    if (name == "lower") return std::islower(c);
    if (name == "punct") return std::ispunct(c);
    if (name == "xdigit") return std::isxdigit(c);
    if (name == "blank") return c == ' ' || c == '\t';
    if (name == "cntrl") return std::iscntrl(c);
    if (name == "print") return std::isprint(c);
    if (name == "graph") return std::isgraph(c);
    return false;
}

// Parses "[...]" at pattern[i] (pattern[i] == '['). Returns the index after ']' or 0 when the
// bracket is not closed (then '[' is an ordinary character, as in fnmatch).
size_t parseClass(std::string_view p, size_t i, Token& t) {
    size_t k = i + 1;
    t.type = Token::Class;
    if (k < p.size() && (p[k] == '!' || p[k] == '^')) {
        t.negate = true;
        ++k;
    }
    bool first = true;
    while (k < p.size()) {
        unsigned char c = static_cast<unsigned char>(p[k]);
        if (c == ']' && !first) return k + 1;
        first = false;
        if (c == '[' && k + 1 < p.size() && p[k + 1] == ':') {
            const size_t end = p.find(":]", k + 2);
            if (end != std::string_view::npos) {
                const std::string_view name = p.substr(k + 2, end - (k + 2));
                for (int b = 0; b < 256; ++b)
                    if (posixClass(name, static_cast<unsigned char>(b))) t.set[b] = true;
                k = end + 2;
                continue;
            }
        }
        if (c == '\\' && k + 1 < p.size()) c = static_cast<unsigned char>(p[++k]);
        if (k + 2 < p.size() && p[k + 1] == '-' && p[k + 2] != ']') {
            unsigned char hi = static_cast<unsigned char>(p[k + 2]);
            size_t next = k + 3;
            if (hi == '\\' && k + 3 < p.size()) {
                hi = static_cast<unsigned char>(p[k + 3]);
                next = k + 4;
            }
            for (int b = c; b <= hi; ++b) t.set[b] = true;
            k = next;
            continue;
        }
        t.set[c] = true;
        ++k;
    }
    return 0;
}

std::vector<Token> tokenize(std::string_view p) {
    std::vector<Token> out;
    out.reserve(p.size());
    for (size_t i = 0; i < p.size();) {
        Token t;
        const char c = p[i];
        if (c == '*') {
            // Runs of stars are one star (they cannot match more than one).
            if (out.empty() || out.back().type != Token::Star) {
                t.type = Token::Star;
                out.push_back(t);
            }
            ++i;
            continue;
        }
        if (c == '?') {
            t.type = Token::Any;
            ++i;
        } else if (c == '[') {
            const size_t next = parseClass(p, i, t);
            if (next) {
                i = next;
            } else {
                t = Token{};
                t.c = '[';
                ++i;
            }
        } else if (c == '\\' && i + 1 < p.size()) {
            t.c = static_cast<unsigned char>(p[i + 1]);
            i += 2;
        } else {
            t.c = static_cast<unsigned char>(c);
            ++i;
        }
        out.push_back(t);
    }
    return out;
}

bool matchOne(const Token& t, unsigned char c) {
    switch (t.type) {
        case Token::Literal: return t.c == c;
        case Token::Any: return true;
        case Token::Class: return t.set[c] != t.negate;
        case Token::Star: return false;
    }
    return false;
}

// Every token but '*' matches exactly one byte, so on a mismatch it is enough to let the most
// recent '*' swallow one more byte: earlier stars never need to be revisited. Each step either
// advances the name or the star's start, so the work is O(|pattern| x |name|).
bool matchTokens(const std::vector<Token>& toks, std::string_view name, uint64_t* steps) {
    size_t p = 0, n = 0;
    size_t starP = std::string_view::npos, starN = 0;
    uint64_t count = 0;
    bool ok = true;
    while (n < name.size()) {
        ++count;
        if (p < toks.size() && toks[p].type == Token::Star) {
            starP = p++;
            starN = n;
            continue;
        }
        if (p < toks.size() && matchOne(toks[p], static_cast<unsigned char>(name[n]))) {
            ++p;
            ++n;
            continue;
        }
        if (starP != std::string_view::npos) {
            p = starP + 1;
            n = ++starN;
            continue;
        }
        ok = false;
        break;
    }
    if (ok) {
        while (p < toks.size() && toks[p].type == Token::Star) ++p;
        ok = p == toks.size();
    }
    if (steps) *steps += count;
    return ok;
}

bool matchSegments(const std::vector<std::string_view>& pat, const std::vector<std::string_view>& path,
                   uint64_t* steps) {
    // reach[i][j]: pattern segments i.. match path segments j.. . Filled from the end, so
    // each (i, j) is decided once: O(|pat| x |path|) segment globs at most.
    const size_t P = pat.size(), S = path.size();
    std::vector<char> reach((P + 1) * (S + 1), 0);
    auto at = [&](size_t i, size_t j) -> char& { return reach[i * (S + 1) + j]; };
    at(P, S) = 1;
    for (size_t i = P; i-- > 0;) {
        const bool globstar = pat[i] == "**";
        std::vector<Token> toks;
        if (!globstar) toks = tokenize(pat[i]);
        for (size_t j = S + 1; j-- > 0;) {
            if (globstar) {
                at(i, j) = at(i + 1, j) || (j < S && at(i, j + 1));
            } else {
                at(i, j) = j < S && at(i + 1, j + 1) && matchTokens(toks, path[j], steps);
            }
        }
    }
    return at(0, 0) != 0;
}

}  // namespace

bool globMatch(std::string_view pattern, std::string_view name, uint64_t* steps) {
    return matchTokens(tokenize(pattern), name, steps);
}

bool globMatchPath(std::string_view pattern, std::string_view path, uint64_t* steps) {
    return matchSegments(split(pattern), split(path), steps);
}

void IgnoreRules::addFile(const std::string& dirRel, std::string_view content) {
    size_t start = 0;
    while (start < content.size() && m_rules.size() < kMaxRules) {
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
        for (std::string_view seg : split(line)) r.segments.emplace_back(seg);
        if (r.segments.empty()) continue;
        m_rules.push_back(std::move(r));
    }
}

bool IgnoreRules::isIgnored(const std::string& relPath, bool isDir) const {
    bool ignored = false;
    std::vector<std::string_view> segs;
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
                segs = split(std::string_view(relPath).substr(r.base.size() + 1));
            } else {
                segs = split(relPath);
            }
        }
        if (segs.empty()) continue;
        bool match = false;
        if (r.anchored) {
            std::vector<std::string_view> pat(r.segments.begin(), r.segments.end());
            match = matchSegments(pat, segs, nullptr);
        } else {
            match = globMatch(r.segments[0], segs.back());
        }
        if (match) ignored = !r.negate;
    }
    return ignored;
}

}  // namespace mts::ingest
