#pragma once
// Readers for HTML and record-shaped files (JSON Lines, JSON arrays of records, CSV/TSV).
// All thread-safe, none throws on malformed input (see each function's failure rule).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mts::ingest {

/// Visible text of an HTML document (libxml2's forgiving HTML parser): script, style,
/// template and noscript dropped, block elements on their own lines, whitespace collapsed
/// outside <pre>, entities decoded. Malformed HTML gives whatever text libxml2 recovers;
/// an empty result means nothing readable.
std::string htmlToText(std::string_view html);

/// Called once per record with its 0-based index and its text. Return false to stop.
using RecordFn = std::function<bool(size_t index, std::string_view text)>;

/// The text of a record object: the first string member named text, content, body,
/// document, article, story, passage, abstract, review, message, comment or description
/// (case-insensitive); nullopt when none.
std::optional<std::string> recordText(const nlohmann::json& record);

struct RecordStats {
    size_t records = 0;     ///< records delivered
    size_t badLines = 0;    ///< JSONL lines that are not JSON or have no text member
    bool stopped = false;   ///< fn returned false
};

/// JSON Lines: one JSON value per line; objects with a text member (recordText) or plain
/// JSON strings are records; other lines are counted in badLines.
RecordStats forEachJsonLine(std::string_view data, const RecordFn& fn);

/// A JSON document that is an array of records (objects with a text member, or strings).
/// nullopt when the document is not valid JSON or not such an array (the caller then keeps
/// the file verbatim as config).
std::optional<RecordStats> forEachJsonArrayRecord(std::string_view data, const RecordFn& fn);

/// CSV (RFC 4180 quoting; delimiter ',' or '\t') whose header row names a text column (same
/// names as recordText). nullopt when there is no such column.
std::optional<RecordStats> forEachCsvRecord(std::string_view data, char delimiter, const RecordFn& fn);

}  // namespace mts::ingest
