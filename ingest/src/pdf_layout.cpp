// PDF layout: words with boxes -> reading-order text (XY cut), hyphenation, running headers.
// No poppler here: the parent process runs this on words the PDF helper sends (pdf_isolated.h).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "mts/ingest/pdf_text.h"

namespace mts::ingest {
namespace {

constexpr double kMaxCoord = 1e7;  // points; real pages are < 15000
// Work budget of the XY cut, in words handled by gaps()/lineCentres(). The shared PDFs peak
// at ~520 per word (a 938-word page) and ~21,000 on small pages; the budget is ~6x that, and
// past it the page is read line by line, so a hostile page costs O(words) sorts, not more.
constexpr uint64_t kLayoutWorkPerWord = 3000;
constexpr uint64_t kLayoutWorkBase = 1000000;

// ---- layout ----

bool isRtlCodepoint(uint32_t cp) {
    return (cp >= 0x0590 && cp <= 0x08FF) || (cp >= 0xFB1D && cp <= 0xFDFF) || (cp >= 0xFE70 && cp <= 0xFEFF);
}

// Counts strong RTL and LTR letters (rough: Latin/Greek/Cyrillic/CJK as LTR).
void countDirection(const std::string& s, int& rtl, int& ltr) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t i = 0, n = s.size();
    while (i < n) {
        uint32_t cp;
        size_t len;
        unsigned char c = p[i];
        if (c < 0x80) { cp = c; len = 1; }
        else if ((c >> 5) == 6 && i + 1 < n) { cp = ((c & 0x1F) << 6) | (p[i + 1] & 0x3F); len = 2; }
        else if ((c >> 4) == 14 && i + 2 < n) { cp = ((c & 0x0F) << 12) | ((p[i + 1] & 0x3F) << 6) | (p[i + 2] & 0x3F); len = 3; }
        else { cp = 0x10000; len = (c >> 3) == 30 ? 4 : 1; }
        if (isRtlCodepoint(cp)) ++rtl;
        else if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') || (cp >= 0xC0 && cp < 0x590) || cp >= 0x3000) ++ltr;
        i += len;
    }
}

struct Layout {
    const std::vector<WordBox>& w;
    double h;         // median word height
    double colGap;    // minimum gutter width
    double bandGap;   // minimum white band height between blocks
    uint64_t budget;  // words handled by gaps/lineCentres before the XY cut gives up
    std::vector<std::string> blocks;
    mutable uint64_t work = 0;
    bool overBudget = false;

    // White intervals of the projection of `idx` onto x (vertical=true) or y.
    std::vector<std::pair<double, double>> gaps(const std::vector<int>& idx, bool vertical, double minGap) const {
        work += idx.size();
        std::vector<std::pair<double, double>> iv;
        iv.reserve(idx.size());
        for (int i : idx) iv.emplace_back(vertical ? w[i].x0 : w[i].y0, vertical ? w[i].x1 : w[i].y1);
        std::sort(iv.begin(), iv.end());
        std::vector<std::pair<double, double>> out;
        double end = iv.empty() ? 0 : iv[0].second;
        for (size_t k = 1; k < iv.size(); ++k) {
            if (iv[k].first - end >= minGap) out.emplace_back(end, iv[k].first);
            end = std::max(end, iv[k].second);
        }
        return out;
    }

    // Line centres (y) of a set of words, one per visual line.
    std::vector<std::pair<double, int>> lineCentres(const std::vector<int>& idx) const {
        work += idx.size();
        std::vector<double> ys;
        for (int i : idx) ys.push_back((w[i].y0 + w[i].y1) / 2);
        std::sort(ys.begin(), ys.end());
        std::vector<std::pair<double, int>> out;  // (centre, words)
        for (double y : ys) {
            if (!out.empty() && y - out.back().first < 0.3 * h) ++out.back().second;
            else out.emplace_back(y, 1);
        }
        return out;
    }

    // Table rather than text columns: short cells on one side whose rows line up with the
    // other side. Text columns have long lines; reading a table row by row keeps its meaning.
    bool looksLikeTable(const std::vector<int>& left, const std::vector<int>& right) const {
        auto l = lineCentres(left), r = lineCentres(right);
        if (l.size() < 3 || r.size() < 3) return false;
        double lw = double(left.size()) / l.size(), rw = double(right.size()) / r.size();
        if (std::min(lw, rw) >= 4.0) return false;
        // Line centres come sorted: look up the nearest right-hand line (O(l log r)).
        size_t aligned = 0;
        for (auto& a : l) {
            auto it = std::upper_bound(r.begin(), r.end(), a.first - 0.3 * h,
                                       [](double y, const std::pair<double, int>& b) { return y < b.first; });
            if (it != r.end() && it->first < a.first + 0.3 * h) ++aligned;
        }
        return aligned >= 0.7 * l.size();
    }

    void leaf(const std::vector<int>& idx) {
        std::vector<int> order = idx;
        std::sort(order.begin(), order.end(), [&](int a, int b) {
            double ya = (w[a].y0 + w[a].y1) / 2, yb = (w[b].y0 + w[b].y1) / 2;
            return ya != yb ? ya < yb : w[a].x0 < w[b].x0;
        });
        std::vector<std::vector<int>> lines;
        double lineY = 0, lineH = 0;
        for (int i : order) {
            double yc = (w[i].y0 + w[i].y1) / 2, hi = std::max(0.1, w[i].y1 - w[i].y0);
            if (!lines.empty() && std::fabs(yc - lineY) < 0.5 * std::min(hi, lineH)) {
                lines.back().push_back(i);
            } else {
                lines.push_back({i});
                lineY = yc;
                lineH = hi;
            }
        }
        std::string text;
        for (auto& line : lines) {
            int rtl = 0, ltr = 0;
            for (int i : line) countDirection(w[i].text, rtl, ltr);
            const bool rightToLeft = rtl > ltr;
            std::sort(line.begin(), line.end(), [&](int a, int b) {
                return rightToLeft ? w[a].x1 > w[b].x1 : w[a].x0 < w[b].x0;
            });
            std::string s;
            for (size_t k = 0; k < line.size(); ++k) {
                const WordBox& cur = w[line[k]];
                if (k > 0) {
                    const WordBox& prev = w[line[k - 1]];
                    double gap = rightToLeft ? prev.x0 - cur.x1 : cur.x0 - prev.x1;
                    if (prev.spaceAfter || gap > 0.15 * h) s.push_back(' ');
                }
                s += cur.text;
            }
            if (!text.empty()) text.push_back('\n');
            text += s;
        }
        if (!text.empty()) blocks.push_back(std::move(text));
    }

    void cut(const std::vector<int>& idx, int depth) {
        if (idx.empty() || overBudget) return;
        if (work > budget) {
            overBudget = true;
            return;
        }
        if (idx.size() == 1 || depth > 60 || lineCentres(idx).size() == 1) {
            leaf(idx);
            return;
        }
        // Columns first: the widest gutter through the whole region.
        auto vg = gaps(idx, true, colGap);
        if (!vg.empty()) {
            auto best = *std::max_element(vg.begin(), vg.end(), [](auto& a, auto& b) {
                return a.second - a.first < b.second - b.first;
            });
            double mid = (best.first + best.second) / 2;
            std::vector<int> left, right;
            for (int i : idx) ((w[i].x0 + w[i].x1) / 2 < mid ? left : right).push_back(i);
            if (!looksLikeTable(left, right)) {
                cut(left, depth + 1);
                cut(right, depth + 1);
                return;
            }
        }
        auto hg = gaps(idx, false, bandGap);
        if (hg.empty()) {
            leaf(idx);
            return;
        }
        // Bands between the white gaps, top to bottom.
        std::vector<std::vector<int>> bands(hg.size() + 1);
        for (int i : idx) {
            double yc = (w[i].y0 + w[i].y1) / 2;
            // The band below the last gap starting above yc (gaps are sorted).
            size_t b = static_cast<size_t>(
                std::lower_bound(hg.begin(), hg.end(), yc, [](const std::pair<double, double>& g, double y) { return g.first < y; }) -
                hg.begin());
            bands[b].push_back(i);
        }
        bands.erase(std::remove_if(bands.begin(), bands.end(), [](auto& b) { return b.empty(); }), bands.end());
        // Merge neighbouring bands that share a gutter, so columns stay whole across bands.
        std::vector<std::vector<int>> merged;
        for (auto& band : bands) {
            if (!merged.empty()) {
                std::vector<int> both = merged.back();
                both.insert(both.end(), band.begin(), band.end());
                auto g1 = gaps(merged.back(), true, colGap), g2 = gaps(band, true, colGap);
                // Single-line bands (titles, headings) never merge: they sit above the columns.
                if (!g1.empty() && !g2.empty() && lineCentres(merged.back()).size() >= 2 &&
                    lineCentres(band).size() >= 2 && !gaps(both, true, colGap).empty()) {
                    merged.back() = std::move(both);
                    continue;
                }
            }
            merged.push_back(band);
        }
        if (merged.size() == 1) {
            // Could not split further without losing the column structure.
            auto v = gaps(merged[0], true, colGap);
            if (v.empty()) {
                leaf(merged[0]);
                return;
            }
        }
        for (auto& band : merged) cut(band, depth + 1);
    }
};

bool endsWithHyphen(const std::string& line, size_t& cutAt) {
    // '-' (U+002D), soft hyphen U+00AD (C2 AD), hyphen U+2010 (E2 80 90), preceded by a letter.
    size_t n = line.size();
    if (n >= 2 && line[n - 1] == '-') cutAt = n - 1;
    else if (n >= 3 && line.compare(n - 2, 2, "\xC2\xAD") == 0) cutAt = n - 2;
    else if (n >= 4 && line.compare(n - 3, 3, "\xE2\x80\x90") == 0) cutAt = n - 3;
    else return false;
    if (cutAt == 0) return false;
    unsigned char prev = static_cast<unsigned char>(line[cutAt - 1]);
    return std::isalpha(prev) || prev >= 0x80;
}

bool startsLower(const std::string& line) {
    if (line.empty()) return false;
    unsigned char c = static_cast<unsigned char>(line[0]);
    if (c < 0x80) return std::islower(c);
    // Latin-1 supplement / Latin extended lower-case letters (ä, é, ß, ...), 2-byte UTF-8.
    if (c == 0xC3 && line.size() > 1) return static_cast<unsigned char>(line[1]) >= 0x9F;
    return false;
}

std::string normaliseForRepeat(const std::string& line) {
    std::string s;
    bool space = false;
    for (unsigned char c : line) {
        if (std::isspace(c)) {
            space = !s.empty();
            continue;
        }
        if (space) s.push_back(' ');
        space = false;
        s.push_back(std::isdigit(c) ? '#' : static_cast<char>(c));
    }
    return s;
}

std::vector<std::string> splitLines(const std::string& s) {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start <= s.size()) {
        size_t nl = s.find('\n', start);
        if (nl == std::string::npos) nl = s.size();
        lines.push_back(s.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}


}  // namespace

std::string layoutPage(const std::vector<WordBox>& input) {
    // Boxes from a damaged file (or a misbehaving helper) may be NaN, infinite or flipped;
    // sorting such values breaks std::sort's ordering contract, so fix them first.
    auto bad = [](const WordBox& b) {
        return !std::isfinite(b.x0) || !std::isfinite(b.y0) || !std::isfinite(b.x1) || !std::isfinite(b.y1) ||
               b.x0 > b.x1 || b.y0 > b.y1 || std::fabs(b.x0) > kMaxCoord || std::fabs(b.x1) > kMaxCoord ||
               std::fabs(b.y0) > kMaxCoord || std::fabs(b.y1) > kMaxCoord;
    };
    std::vector<WordBox> fixed;
    const bool needFix = std::any_of(input.begin(), input.end(), bad);
    if (needFix) {
        for (const auto& b : input) {
            if (!std::isfinite(b.x0) || !std::isfinite(b.y0) || !std::isfinite(b.x1) || !std::isfinite(b.y1)) continue;
            WordBox c = b;
            c.x0 = std::clamp(std::min(b.x0, b.x1), -kMaxCoord, kMaxCoord);
            c.x1 = std::clamp(std::max(b.x0, b.x1), -kMaxCoord, kMaxCoord);
            c.y0 = std::clamp(std::min(b.y0, b.y1), -kMaxCoord, kMaxCoord);
            c.y1 = std::clamp(std::max(b.y0, b.y1), -kMaxCoord, kMaxCoord);
            fixed.push_back(std::move(c));
        }
    }
    const std::vector<WordBox>& words = needFix ? fixed : input;
    if (words.empty()) return {};
    std::vector<double> hs;
    hs.reserve(words.size());
    for (const auto& w : words) hs.push_back(std::max(0.1, w.y1 - w.y0));
    std::nth_element(hs.begin(), hs.begin() + hs.size() / 2, hs.end());
    double h = hs[hs.size() / 2];
    // A gutter is at least ~0.8 em wide (LaTeX's default \columnsep is 10pt at 10pt type);
    // word spaces are ~0.3 em and do not line up through a whole region.
    Layout layout{words, h, 0.8 * h, 0.45 * h, kLayoutWorkPerWord * words.size() + kLayoutWorkBase, {}};
    std::vector<int> idx(words.size());
    std::iota(idx.begin(), idx.end(), 0);
    layout.cut(idx, 0);
    if (layout.overBudget) {
        // Pathological page: read it line by line, top to bottom.
        layout.blocks.clear();
        layout.leaf(idx);
    }
    std::string out;
    for (auto& b : layout.blocks) {
        if (!out.empty()) out += "\n\n";
        out += b;
    }
    return out;
}

std::string joinHyphenation(std::string_view text) {
    std::vector<std::string> lines = splitLines(std::string(text));
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string line = lines[i];
        size_t cutAt = 0;
        while (endsWithHyphen(line, cutAt)) {
            size_t j = i + 1;
            if (j < lines.size() && lines[j].empty()) ++j;  // column/page break as a blank line
            if (j >= lines.size() || !startsLower(lines[j])) break;
            line.resize(cutAt);  // in place: a long run of hyphenated lines stays linear
            line += lines[j];
            i = j;
        }
        out += line;
        if (i + 1 < lines.size()) out.push_back('\n');
    }
    return out;
}

namespace {

// First and last runs of digits in a line (-1 when none).
std::pair<long, long> digitRuns(const std::string& line) {
    long first = -1, last = -1, cur = -1;
    for (size_t k = 0; k <= line.size(); ++k) {
        bool d = k < line.size() && std::isdigit(static_cast<unsigned char>(line[k]));
        if (d) {
            cur = (cur < 0 ? 0 : cur) * 10 + (line[k] - '0');
            if (cur > 1000000) cur = 1000000;
        } else if (cur >= 0) {
            if (first < 0) first = cur;
            last = cur;
            cur = -1;
        }
    }
    return {first, last};
}

struct EdgeLine {
    size_t page;
    long first, last;
};

// A running header/footer: the same line (digits aside) on half the pages, or, when it holds a
// number, on >= 3 pages where that number moves with the page index (a page number), which
// catches chapter headers without touching "Satz 3.4" at the top of a few pages.
bool isRunning(const std::vector<EdgeLine>& occ, bool hasDigits, size_t needPlain) {
    if (!hasDigits) return occ.size() >= needPlain;
    if (occ.size() < 3) return false;
    for (int which = 0; which < 2; ++which) {
        std::unordered_map<long, size_t> offsets;
        for (const auto& o : occ) {
            long num = which == 0 ? o.first : o.last;
            if (num >= 0 && ++offsets[num - static_cast<long>(o.page)] >= 3) return true;
        }
    }
    return false;
}

}  // namespace

size_t dropRepeatedHeadersFooters(std::vector<std::string>& pages) {
    const size_t n = pages.size();
    if (n < 3) return 0;
    std::vector<std::vector<std::string>> lines(n);
    std::unordered_map<std::string, std::vector<EdgeLine>> top, bottom;
    auto edgeIdx = [](const std::vector<std::string>& ls, bool isTop) {
        std::vector<size_t> out;
        if (isTop) {
            for (size_t k = 0; k < ls.size() && out.size() < 2; ++k)
                if (!ls[k].empty()) out.push_back(k);
        } else {
            for (size_t k = ls.size(); k-- > 0 && out.size() < 2;)
                if (!ls[k].empty()) out.push_back(k);
        }
        return out;
    };
    for (size_t p = 0; p < n; ++p) {
        lines[p] = splitLines(pages[p]);
        for (int side = 0; side < 2; ++side) {
            auto& map = side == 0 ? top : bottom;
            std::unordered_map<std::string, int> seen;
            for (size_t k : edgeIdx(lines[p], side == 0)) {
                std::string key = normaliseForRepeat(lines[p][k]);
                if (seen[key]++) continue;
                auto [first, last] = digitRuns(lines[p][k]);
                map[key].push_back({p, first, last});
            }
        }
    }
    const size_t needPlain = std::max<size_t>(3, (n + 1) / 2);
    auto running = [&](const std::unordered_map<std::string, std::vector<EdgeLine>>& map, const std::string& key) {
        auto it = map.find(key);
        return it != map.end() && isRunning(it->second, key.find('#') != std::string::npos, needPlain);
    };
    size_t removed = 0;
    for (size_t p = 0; p < n; ++p) {
        std::vector<bool> drop(lines[p].size(), false);
        for (size_t k : edgeIdx(lines[p], true))
            if (running(top, normaliseForRepeat(lines[p][k]))) drop[k] = true;
        for (size_t k : edgeIdx(lines[p], false))
            if (running(bottom, normaliseForRepeat(lines[p][k]))) drop[k] = true;
        if (std::none_of(drop.begin(), drop.end(), [](bool b) { return b; })) continue;
        std::string out;
        for (size_t k = 0; k < lines[p].size(); ++k) {
            if (drop[k]) {
                ++removed;
                continue;
            }
            if (!out.empty()) out.push_back('\n');
            out += lines[p][k];
        }
        pages[p] = out;
    }
    return removed;
}

}  // namespace mts::ingest
