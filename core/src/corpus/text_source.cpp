// textFileSource: plain .txt files as corpus documents (training on text without ingest).
#include <algorithm>
#include <fstream>
#include <sstream>

#include "mts/core/corpus/corpus_builder.h"
#include "mts/core/runtime/errors.h"

namespace fs = std::filesystem;

namespace mts {

namespace {

std::string readWholeFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw FormatError(p.string(), "cannot open for reading");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw FormatError(p.string(), "read error");
    return ss.str();
}

std::vector<fs::path> textFiles(const fs::path& path) {
    std::vector<fs::path> files;
    if (!fs::is_directory(path)) return {path};
    for (const auto& e : fs::recursive_directory_iterator(path))
        if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (files.empty()) throw ConfigError(path.string() + ": no .txt files and no train.bin in this folder");
    return files;
}

}  // namespace

CorpusDocumentSource textFileSource(const fs::path& path) {
    return [path](const CorpusDocumentSink& sink) {
        const std::vector<fs::path> files = textFiles(path);
        for (const auto& file : files)
            if (!sink(CorpusDocument{file.string(), "text", readWholeFile(file)})) break;
        return nlohmann::json{{"sources", {path.string()}}, {"text_files", files.size()}};
    };
}

}  // namespace mts
