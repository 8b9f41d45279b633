#pragma once
// File type detection by name and content. Pure functions, thread-safe.
#include <string>
#include <string_view>

namespace mts::ingest {

enum class FileClass {
    Text,      ///< prose: .txt .rst .tex .org .adoc, README, LICENSE, ...
    Markdown,  ///< .md .markdown
    Html,      ///< .html .htm .xhtml
    Code,      ///< source code; language in Detection::language
    Config,    ///< JSON, YAML, TOML, XML, INI, ... kept verbatim
    JsonLines, ///< .jsonl .ndjson: one record per line
    Json,      ///< .json: an array of records when it is one, else Config
    Csv,       ///< .csv .tsv: one record per row when a text column exists, else Config
    Pdf,
    Skip,      ///< see Detection::reason
};

struct Detection {
    FileClass cls = FileClass::Skip;
    std::string language;  ///< for Code: "python", "cpp", ...; for Config: "yaml", "toml", ...
    std::string reason;    ///< for Skip: "binary", "image", "archive", "lock-file", "minified", ...
    std::string detail;    ///< for Skip: a sentence for people
    /// The name could not decide (an unknown extension, or an ambiguous one such as .raw, .dat,
    /// .bin that is binary more often than not): the content decides. detect() takes such a
    /// file as text only when its head has no NUL byte, few control characters and is valid
    /// (or repairable) UTF-8; extraction then also refuses a NUL anywhere in the file. When
    /// the content is not text, the skip keeps the name's reason ("image" for .raw).
    bool sniff = false;
};

/// Extensions whose files are usually binary but are sometimes plain text (WikiText-2 ships
/// `wiki.train.raw`): detectByName gives Skip with sniff = true, and the content decides.
bool isAmbiguousExtension(const std::string& lowerExtension);

/// True when `head` (the first bytes of a file) looks like text: no NUL, at most 1 % control
/// characters other than \t \n \r \f \v ESC, and at most 30 % invalid UTF-8 bytes.
bool looksLikeText(std::string_view head);

/// Classifies by the file name alone (no content): images, archives, known binaries, lock
/// files and minified names are Skip; unknown names come back as Text and ambiguous ones
/// (isAmbiguousExtension) as Skip, both with sniff = true (content decides).
Detection detectByName(const std::string& fileName);

/// Full classification: name first, then the first bytes of the content (`head`, e.g. 8 KiB):
/// magic numbers (PDF, images, archives, executables, ...) override the name, NUL bytes mean
/// binary, a head that is mostly invalid UTF-8 means binary. A .txt that is really a PNG is
/// Skip/"binary"; a file called "x.dat" or "wiki.train.raw" that is plain UTF-8 text is Text
/// (sniff = true), one with binary content keeps its name's reason ("binary", "image").
Detection detect(const std::string& fileName, std::string_view head);

/// Minified code/data: very long average line length for a code-like or JSON/CSS file.
bool looksMinified(std::string_view content);

/// Folders never descended into (.git, node_modules, build, dist, __pycache__, venv, ...).
bool isVendoredDirName(const std::string& dirName);

/// Name for a FileClass ("text", "code", ...), also the Document::kind of its documents
/// (Json/JsonLines/Csv records -> "records").
const char* kindName(FileClass cls);

}  // namespace mts::ingest
