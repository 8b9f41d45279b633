#include "mts/ingest/formats.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <vector>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

namespace mts::ingest {
namespace {

const char* const kTextNames[] = {"text", "content", "body", "document", "article", "story",
                                  "passage", "abstract", "review", "message", "comment", "description"};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

int textNameRank(const std::string& name) {
    std::string l = lower(name);
    for (size_t k = 0; k < sizeof(kTextNames) / sizeof(kTextNames[0]); ++k)
        if (l == kTextNames[k]) return static_cast<int>(k);
    return -1;
}

bool isBlock(const char* name) {
    static const char* const blocks[] = {"p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2",
                                         "h3", "h4", "h5", "h6", "tr", "table", "section", "article",
                                         "header", "footer", "nav", "aside", "main", "pre", "blockquote",
                                         "figure", "figcaption", "hr", "title", "form", "fieldset",
                                         "address", "details", "summary", "caption", "tbody", "thead"};
    for (const char* b : blocks)
        if (std::strcmp(name, b) == 0) return true;
    return false;
}

struct HtmlWalker {
    std::string out;
    bool pendingSpace = false;

    void newline() {
        while (!out.empty() && out.back() == ' ') out.pop_back();
        if (!out.empty() && out.back() != '\n') out.push_back('\n');
        pendingSpace = false;
    }
    void text(const char* s, bool pre) {
        for (const char* p = s; *p; ++p) {
            char c = *p;
            if (pre) {
                out.push_back(c);
                continue;
            }
            if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f') {
                pendingSpace = true;
                continue;
            }
            if (pendingSpace && !out.empty() && out.back() != '\n') out.push_back(' ');
            pendingSpace = false;
            out.push_back(c);
        }
    }
    void walk(xmlNode* node, bool pre) {
        for (xmlNode* n = node; n; n = n->next) {
            if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
                if (n->content) text(reinterpret_cast<const char*>(n->content), pre);
            } else if (n->type == XML_ELEMENT_NODE) {
                const char* name = reinterpret_cast<const char*>(n->name);
                if (!std::strcmp(name, "script") || !std::strcmp(name, "style") || !std::strcmp(name, "noscript") ||
                    !std::strcmp(name, "template") || !std::strcmp(name, "svg"))
                    continue;
                bool block = isBlock(name);
                if (block) newline();
                walk(n->children, pre || !std::strcmp(name, "pre"));
                if (block) newline();
                if (!std::strcmp(name, "p") || (name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && !name[2]))
                    out.push_back('\n');  // blank line after paragraphs and headings
            }
        }
    }
};

}  // namespace

std::string htmlToText(std::string_view html) {
    static std::once_flag once;
    std::call_once(once, [] { xmlInitParser(); });
    if (html.empty()) return {};
    htmlDocPtr doc = htmlReadMemory(html.data(), static_cast<int>(std::min<size_t>(html.size(), INT32_MAX)), nullptr,
                                    "UTF-8", HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                                 HTML_PARSE_NONET | HTML_PARSE_COMPACT);
    if (!doc) return {};
    HtmlWalker w;
    w.walk(xmlDocGetRootElement(doc), false);
    xmlFreeDoc(doc);
    return w.out;
}

std::optional<std::string> recordText(const nlohmann::json& record) {
    if (!record.is_object()) return std::nullopt;
    int bestRank = 1000;
    const nlohmann::json* best = nullptr;
    for (auto it = record.begin(); it != record.end(); ++it) {
        if (!it.value().is_string()) continue;
        int r = textNameRank(it.key());
        if (r >= 0 && r < bestRank) {
            bestRank = r;
            best = &it.value();
        }
    }
    if (!best) return std::nullopt;
    return best->get<std::string>();
}

RecordStats forEachJsonLine(std::string_view data, const RecordFn& fn) {
    RecordStats st;
    size_t start = 0;
    while (start < data.size()) {
        size_t nl = data.find('\n', start);
        if (nl == std::string_view::npos) nl = data.size();
        std::string_view line = data.substr(start, nl - start);
        start = nl + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        nlohmann::json j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
        std::optional<std::string> t;
        if (j.is_string()) t = j.get<std::string>();
        else if (!j.is_discarded()) t = recordText(j);
        if (!t) {
            ++st.badLines;
            continue;
        }
        if (!fn(st.records++, *t)) {
            st.stopped = true;
            break;
        }
    }
    return st;
}

std::optional<RecordStats> forEachJsonArrayRecord(std::string_view data, const RecordFn& fn) {
    size_t first = data.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
    if (first == std::string_view::npos || data[first] != '[') return std::nullopt;
    nlohmann::json j = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
    if (j.is_discarded() || !j.is_array() || j.empty()) return std::nullopt;
    // Records only when most elements carry text; otherwise it is data/config kept verbatim.
    size_t withText = 0;
    for (const auto& e : j)
        if (e.is_string() || recordText(e)) ++withText;
    if (withText * 2 < j.size()) return std::nullopt;
    RecordStats st;
    for (const auto& e : j) {
        std::optional<std::string> t = e.is_string() ? std::optional<std::string>(e.get<std::string>()) : recordText(e);
        if (!t) {
            ++st.badLines;
            continue;
        }
        if (!fn(st.records++, *t)) {
            st.stopped = true;
            break;
        }
    }
    return st;
}

namespace {

// One CSV row starting at pos; advances pos past the row's line end. RFC 4180 quoting.
std::vector<std::string> csvRow(std::string_view d, size_t& pos, char delim) {
    std::vector<std::string> fields;
    std::string field;
    bool quoted = false, any = false;
    while (pos < d.size()) {
        char c = d[pos];
        if (quoted) {
            if (c == '"') {
                if (pos + 1 < d.size() && d[pos + 1] == '"') {
                    field.push_back('"');
                    pos += 2;
                    continue;
                }
                quoted = false;
                ++pos;
                continue;
            }
            field.push_back(c);
            ++pos;
            continue;
        }
        if (c == '"' && field.empty()) {
            quoted = true;
            any = true;
            ++pos;
            continue;
        }
        if (c == delim) {
            fields.push_back(std::move(field));
            field.clear();
            any = true;
            ++pos;
            continue;
        }
        if (c == '\r' || c == '\n') {
            ++pos;
            if (c == '\r' && pos < d.size() && d[pos] == '\n') ++pos;
            break;
        }
        field.push_back(c);
        any = true;
        ++pos;
    }
    if (any || !field.empty()) fields.push_back(std::move(field));
    return fields;
}

}  // namespace

std::optional<RecordStats> forEachCsvRecord(std::string_view data, char delim, const RecordFn& fn) {
    size_t pos = 0;
    if (data.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
    std::vector<std::string> header = csvRow(data, pos, delim);
    int col = -1, bestRank = 1000;
    for (size_t k = 0; k < header.size(); ++k) {
        std::string h = header[k];
        h.erase(0, h.find_first_not_of(' '));
        h.erase(h.find_last_not_of(' ') + 1);
        int r = textNameRank(h);
        if (r >= 0 && r < bestRank) {
            bestRank = r;
            col = static_cast<int>(k);
        }
    }
    if (col < 0) return std::nullopt;
    RecordStats st;
    while (pos < data.size()) {
        std::vector<std::string> row = csvRow(data, pos, delim);
        if (row.empty()) continue;
        if (static_cast<size_t>(col) >= row.size()) {
            ++st.badLines;
            continue;
        }
        if (!fn(st.records++, row[col])) {
            st.stopped = true;
            break;
        }
    }
    return st;
}

}  // namespace mts::ingest
