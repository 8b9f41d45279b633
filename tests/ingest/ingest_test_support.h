#pragma once
// Helpers the ingest test suites share (header-only).
#include <map>
#include <string>

#include <git2.h>

#include "mts/ingest/ingest.h"

namespace mts::test {

/// libgit2 initialised for the scope (tests that build repositories).
struct GitLibrary {
    GitLibrary() { git_libgit2_init(); }
    ~GitLibrary() { git_libgit2_shutdown(); }
    GitLibrary(const GitLibrary&) = delete;
    GitLibrary& operator=(const GitLibrary&) = delete;
};

/// Runs the ingest; returns document source -> text (and the result in *result).
inline std::map<std::string, std::string> ingestTexts(const mts::ingest::IngestOptions& opt,
                                                      mts::ingest::IngestResult* result = nullptr) {
    std::map<std::string, std::string> docs;
    mts::ingest::IngestResult r = mts::ingest::ingest(opt, [&](const mts::ingest::Document& d) {
        docs[d.source] = d.text;
        return true;
    });
    if (result) *result = r;
    return docs;
}

/// The skipped file whose path ends with `tail` (a name, "/.env", "/node_modules/"); null when none.
inline const mts::ingest::SkippedFile* skipFor(const mts::ingest::IngestResult& r, const std::string& tail) {
    for (const auto& s : r.skipped)
        if (s.path.size() >= tail.size() && s.path.compare(s.path.size() - tail.size(), tail.size(), tail) == 0)
            return &s;
    return nullptr;
}

/// The reason that file was skipped ("" when it was not); its detail in *detail.
inline std::string reasonFor(const mts::ingest::IngestResult& r, const std::string& tail, std::string* detail = nullptr) {
    const mts::ingest::SkippedFile* s = skipFor(r, tail);
    if (s && detail) *detail = s->detail;
    return s ? s->reason : "";
}

}  // namespace mts::test
