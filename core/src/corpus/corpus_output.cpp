// The corpus output guard: replace only our own corpora, never a source or its neighbours.
#include "mts/core/corpus/corpus_output.h"

#include <fmt/format.h>

#include "mts/core/runtime/errors.h"
#include "runtime/json_file.h"

namespace mts {

namespace fs = std::filesystem;

namespace {

// Absolute, with symbolic links and ".." resolved as far as the path exists.
fs::path resolved(const fs::path& p) {
    std::error_code ec;
    fs::path abs = fs::absolute(p, ec);
    if (ec) abs = p;
    fs::path canon = fs::weakly_canonical(abs, ec);
    return corpusOutputDir(ec ? abs.lexically_normal() : canon);
}

// True when `inner` is `outer` or lies below it (both resolved).
bool within(const fs::path& inner, const fs::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
        if (o->empty()) continue;  // a trailing "" element
        if (i == inner.end() || *i != *o) return false;
    }
    return true;
}

}  // namespace

fs::path corpusOutputDir(const fs::path& outDir) {
    std::string s = outDir.string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return fs::path(s);
}

bool isMtsCorpusFolder(const fs::path& dir) {
    std::error_code ec;
    if (fs::is_symlink(dir, ec) || !fs::is_directory(dir, ec)) return false;
    const fs::path manifest = dir / "manifest.json";
    if (fs::is_symlink(manifest, ec) || !fs::is_regular_file(manifest, ec)) return false;
    const auto text = detail::readSmallFile(manifest, uint64_t(64) << 20);
    if (!text) return false;
    const auto j = detail::tryParseJson(*text);
    if (!j || !j->is_object()) return false;
    const auto format = j->find("format");  // typed: {"format": 0} is "no", not a type error
    return format != j->end() && format->is_string() && format->get<std::string>() == "mts-corpus";
}

void checkCorpusOutput(const fs::path& outDir, bool overwrite, const std::vector<fs::path>& sources) {
    if (outDir.empty()) throw ConfigError("corpus: no output folder given");
    const fs::path out = resolved(outDir);
    for (const fs::path& source : sources) {
        if (source.empty()) continue;
        const fs::path src = resolved(source);
        if (within(out, src))
            throw ConfigError(fmt::format("{}: the corpus cannot be written {} the source {}", outDir.string(),
                                          out == src ? "over" : "inside", source.string()));
        if (within(src, out))
            throw ConfigError(fmt::format("{}: the corpus cannot be written there: it contains the source {}",
                                          outDir.string(), source.string()));
    }
    std::error_code ec;
    const bool exists = fs::exists(fs::symlink_status(outDir, ec));
    if (!exists) return;
    if (!overwrite)
        throw ConfigError(fmt::format("{}: already exists (choose another folder, or overwrite)", outDir.string()));
    if (!isMtsCorpusFolder(outDir))
        throw ConfigError(fmt::format("{}: not replaced: it is not a Mamba Studio corpus (no manifest.json with "
                                      "\"format\": \"mts-corpus\"); only corpus folders are overwritten",
                                      outDir.string()));
}

}  // namespace mts
