#include "mts/ingest/config_formats.h"

#include <sstream>

#include <fmt/format.h>
#include <pugixml.hpp>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>
#include <yaml-cpp/eventhandler.h>

#include "mts/ingest/detect.h"

namespace mts::ingest {
namespace {

ConfigResult malformed(size_t line, size_t column, const std::string& what) {
    ConfigResult r;
    r.error = fmt::format("line {}, column {}: {}", line, column, what);
    return r;
}

ConfigResult verbatim(std::string_view text, nlohmann::json meta = nlohmann::json::object()) {
    ConfigResult r;
    r.wellFormed = true;
    r.text.assign(text.data(), text.size());
    r.meta = std::move(meta);
    return r;
}

// Walks a YAML stream without building nodes: counts documents and remembers where the parser
// was last, for the error of a stream that stops making progress.
class YamlCounter : public YAML::EventHandler {
public:
    YAML::Mark last;
    size_t documents = 0;
    void OnDocumentStart(const YAML::Mark& mark) override {
        last = mark;
        ++documents;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { last = mark; }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { last = mark; }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override { last = mark; }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        last = mark;
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        last = mark;
    }
    void OnMapEnd() override {}
};

ConfigResult checkYaml(std::string_view text) {
    if (text.find("{{") != std::string_view::npos) return verbatim(text, {{"template", true}});
    try {
        // yaml-cpp guards its recursion (DeepRecursion, a ParserException); events are only
        // counted, never built into nodes, so hostile nesting or "billion laughs" anchors cost
        // neither stack nor memory. yaml-cpp 0.7 never reaches the end of a stream with a ',' at
        // the top level (it yields empty documents forever): every document takes at least one
        // byte, so more documents than bytes means the parser is stuck, and the file is refused.
        std::istringstream in{std::string(text)};
        YAML::Parser parser(in);
        YamlCounter counter;
        while (parser.HandleNextDocument(counter)) {
            if (counter.documents > text.size() + 1)
                return malformed(static_cast<size_t>(counter.last.line) + 1, static_cast<size_t>(counter.last.column) + 1,
                                 "the YAML parser makes no progress here (a ',' outside brackets?)");
        }
        return verbatim(text, {{"documents", counter.documents}});
    } catch (const YAML::ParserException& e) {
        return malformed(static_cast<size_t>(e.mark.line) + 1, static_cast<size_t>(e.mark.column) + 1, e.msg);
    } catch (const YAML::Exception& e) {
        return malformed(static_cast<size_t>(e.mark.line) + 1, static_cast<size_t>(e.mark.column) + 1, e.msg);
    }
}

ConfigResult checkToml(std::string_view text) {
    try {
        const toml::table table = toml::parse(text);
        return verbatim(text, {{"keys", table.size()}});
    } catch (const toml::parse_error& e) {
        const auto& at = e.source().begin;
        return malformed(at.line, at.column, std::string(e.description()));
    }
}

ConfigResult checkXml(std::string_view text) {
    pugi::xml_document doc;
    // No entity expansion beyond the predefined ones, no external resources: pugixml reads
    // only the bytes given.
    const pugi::xml_parse_result parsed =
        doc.load_buffer(text.data(), text.size(), pugi::parse_default | pugi::parse_comments, pugi::encoding_utf8);
    if (!parsed) {
        size_t line = 1, column = 1;
        const size_t end = std::min(text.size(), static_cast<size_t>(std::max<ptrdiff_t>(0, parsed.offset)));
        for (size_t k = 0; k < end; ++k) {
            if (text[k] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        return malformed(line, column, parsed.description());
    }
    if (!doc.document_element()) return malformed(1, 1, "no root element");
    if (!looksMinified(text)) return verbatim(text);
    std::ostringstream out;
    doc.save(out, "  ", pugi::format_indent, pugi::encoding_utf8);
    return verbatim(out.str(), {{"reindented", true}});
}

}  // namespace

bool isStructuredConfig(std::string_view language) {
    return language == "yaml" || language == "toml" || language == "xml";
}

ConfigResult checkConfig(std::string_view language, std::string_view text) {
    try {
        if (language == "yaml") return checkYaml(text);
        if (language == "toml") return checkToml(text);
        if (language == "xml") return checkXml(text);
        return verbatim(text);
    } catch (const std::exception& e) {
        return malformed(1, 1, e.what());  // e.g. std::bad_alloc on a giant document
    }
}

}  // namespace mts::ingest
