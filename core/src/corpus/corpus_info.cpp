// readCorpusInfo: manifest.json -> CorpusInfo, tolerant of missing keys, strict about the format.
#include "mts/core/corpus/corpus_info.h"

#include <algorithm>
#include <map>

#include "mts/core/runtime/errors.h"
#include "runtime/json_file.h"

namespace fs = std::filesystem;

namespace mts {

namespace {

using nlohmann::json;

const json& member(const json& j, const char* key) {
    static const json kNull;
    if (!j.is_object()) return kNull;
    const auto it = j.find(key);
    return it == j.end() ? kNull : *it;
}

uint64_t u64(const json& j, const char* key) {
    const json& v = member(j, key);
    return v.is_number_unsigned() ? v.get<uint64_t>() : v.is_number_integer() && v.get<int64_t>() > 0 ? v.get<uint64_t>() : 0;
}

std::string str(const json& j, const char* key) {
    const json& v = member(j, key);
    return v.is_string() ? v.get<std::string>() : std::string();
}

void appendStrings(const json& array, std::vector<std::string>& out) {
    if (!array.is_array()) return;
    for (const auto& item : array)
        if (item.is_string()) out.push_back(item.get<std::string>());
}

}  // namespace

CorpusInfo readCorpusInfo(const fs::path& dir) {
    const fs::path file = dir / "manifest.json";
    if (!fs::exists(file)) throw FormatError(file.string(), "missing (not a corpus folder?)");
    const json m = detail::readJsonFile(file, "the corpus manifest");
    if (!m.is_object() || str(m, "format") != "mts-corpus") throw FormatError(file.string(), "not an mts-corpus manifest");

    CorpusInfo info;
    info.dir = dir;
    info.created = str(m, "created");
    const json& documents = member(m, "documents");
    info.documents = u64(documents, "total");
    info.trainDocuments = u64(documents, "train");
    info.valDocuments = u64(documents, "val");
    info.trainTokens = u64(member(m, "tokens"), "train");
    info.valTokens = u64(member(m, "tokens"), "val");
    info.textBytes = u64(m, "text_bytes");
    const json& tokenizer = member(m, "tokenizer");
    info.tokenizerKind = str(tokenizer, "kind");
    info.vocabSize = static_cast<int64_t>(u64(tokenizer, "vocab_size"));
    if (member(tokenizer, "eos_id").is_number_integer()) info.eosId = member(tokenizer, "eos_id").get<int64_t>();
    info.splitBy = str(member(m, "split"), "by");
    if (member(member(m, "split"), "val_fraction").is_number())
        info.valFraction = member(member(m, "split"), "val_fraction").get<double>();
    appendStrings(member(m, "sources"), info.sources);
    info.sourceCommit = str(m, "source_commit");
    appendStrings(member(m, "warnings"), info.warnings);

    // Kinds: the writer's tokens and bytes, the ingest report's files.
    std::map<std::string, CorpusKindInfo> kinds;
    const json& writerKinds = member(m, "kinds");
    if (writerKinds.is_object())
        for (auto it = writerKinds.begin(); it != writerKinds.end(); ++it) {
            CorpusKindInfo& k = kinds[it.key()];
            k.documents = u64(it.value(), "documents");
            k.bytes = u64(it.value(), "bytes");
            k.tokens = u64(it.value(), "tokens");
            k.valTokens = u64(it.value(), "val_tokens");
        }
    const json& ingest = member(m, "ingest");
    info.files = u64(ingest, "files_ingested");
    const json& ingestKinds = member(ingest, "kinds");
    if (ingestKinds.is_object())
        for (auto it = ingestKinds.begin(); it != ingestKinds.end(); ++it) {
            CorpusKindInfo& k = kinds[it.key()];
            k.files = u64(it.value(), "files");
            if (!k.documents) k.documents = u64(it.value(), "documents");
            if (!k.bytes) k.bytes = u64(it.value(), "bytes");
        }
    for (auto& [name, k] : kinds) {
        k.kind = name;
        info.kinds.push_back(k);
    }
    const json& skipped = member(ingest, "skipped");
    if (skipped.is_array())
        for (const auto& item : skipped)
            if (item.is_object()) info.skipped.push_back({str(item, "path"), str(item, "reason"), str(item, "detail")});
    info.skippedTotal = std::max<uint64_t>(u64(ingest, "skipped_total"), info.skipped.size());
    appendStrings(member(ingest, "warnings"), info.warnings);
    return info;
}

nlohmann::json stableManifest(nlohmann::json manifest) {
    if (!manifest.is_object()) return manifest;
    manifest.erase("created");
    if (auto it = manifest.find("ingest"); it != manifest.end() && it->is_object()) it->erase("seconds");
    return manifest;
}

}  // namespace mts
