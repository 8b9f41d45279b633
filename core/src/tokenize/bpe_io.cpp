// Reading and writing byte-level BPE tokenizers: Hugging Face tokenizer.json and the GPT-2
// vocab.json + merges.txt pair.
#include <fstream>
#include <sstream>

#include "mts/core/runtime/errors.h"
#include "runtime/json_file.h"
#include "tokenize/bpe_internal.h"

namespace mts::bpe {

namespace {
using Json = nlohmann::json;

std::string typeOf(const Json& j) {
    if (!j.is_object()) return {};
    const auto it = j.find("type");
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool boolField(const Json& obj, const char* key, bool fallback, const std::string& file) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw FormatError(file, std::string("field '") + key + "' must be true or false");
    return it->get<bool>();
}

void readVocab(const Json& vocab, const std::string& file, BpeSpec& spec) {
    if (!vocab.is_object()) throw FormatError(file, "model.vocab must be an object of token -> id");
    spec.vocab.reserve(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it.value().is_number_integer())
            throw FormatError(file, "vocabulary id of token '" + it.key() + "' is not an integer");
        const auto id = it.value().get<int64_t>();
        if (id < 0 || id > INT32_MAX)
            throw FormatError(file, "vocabulary id " + std::to_string(id) + " of token '" + it.key() + "' is out of range");
        spec.vocab.emplace_back(it.key(), static_cast<int32_t>(id));
    }
}

std::pair<std::string, std::string> splitMergeLine(const std::string& line, const std::string& file, size_t index) {
    const auto space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 >= line.size() ||
        line.find(' ', space + 1) != std::string::npos)
        throw FormatError(file, "merge " + std::to_string(index + 1) + " ('" + line +
                                    "') is not of the form 'left right'");
    return {line.substr(0, space), line.substr(space + 1)};
}

bool normalizerIsNfc(const Json& n, const std::string& file) {
    if (n.is_null()) return false;
    const std::string type = typeOf(n);
    if (type == "NFC") return true;
    if (type == "Sequence") {
        const auto it = n.find("normalizers");
        if (it == n.end() || !it->is_array()) throw FormatError(file, "normalizer Sequence without 'normalizers'");
        bool nfc = false;
        for (const auto& inner : *it) nfc = normalizerIsNfc(inner, file) || nfc;
        return nfc;
    }
    throw FormatError(file, "unsupported normalizer '" + (type.empty() ? n.dump() : type) +
                                "' (supported: none, NFC)");
}

// Returns add_prefix_space of the ByteLevel pre-tokenizer.
bool readPreTokenizer(const Json& p, const std::string& file) {
    const std::string type = typeOf(p);
    if (type == "ByteLevel") {
        if (!boolField(p, "use_regex", true, file))
            throw FormatError(file, "ByteLevel pre-tokenizer with use_regex=false is not supported");
        return boolField(p, "add_prefix_space", false, file);
    }
    if (type == "Sequence") {
        const auto it = p.find("pretokenizers");
        if (it != p.end() && it->is_array() && it->size() == 1) return readPreTokenizer((*it)[0], file);
    }
    throw FormatError(file, "unsupported pre_tokenizer '" + (p.is_null() ? std::string("null") : type.empty() ? p.dump() : type) +
                                "' (supported: ByteLevel with the GPT-2 pattern)");
}
}  // namespace

std::unique_ptr<Tokenizer> bpeFromHfJson(const nlohmann::json& doc, const std::string& file) {
    const Json& model = doc.at("model");
    BpeSpec spec;
    try {
        for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
            const auto it = model.find(key);
            if (it != model.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty()))
                throw FormatError(file, std::string("model.") + key + " is not supported for byte-level BPE");
        }
        if (boolField(model, "ignore_merges", false, file))
            throw FormatError(file, "model.ignore_merges=true is not supported");
        const auto vocab = model.find("vocab");
        if (vocab == model.end()) throw FormatError(file, "model has no 'vocab'");
        readVocab(*vocab, file, spec);
        const auto merges = model.find("merges");
        if (merges == model.end() || !merges->is_array()) throw FormatError(file, "model.merges must be an array");
        spec.merges.reserve(merges->size());
        for (size_t i = 0; i < merges->size(); ++i) {
            const Json& m = (*merges)[i];
            if (m.is_string()) {
                spec.merges.push_back(splitMergeLine(m.get<std::string>(), file, i));
            } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
                spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
            } else {
                throw FormatError(file, "merge " + std::to_string(i + 1) + " must be \"left right\" or [left, right]");
            }
        }
        const auto added = doc.find("added_tokens");
        if (added != doc.end() && !added->is_null()) {
            if (!added->is_array()) throw FormatError(file, "added_tokens must be an array");
            for (const Json& t : *added) {
                if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || !t.contains("content") ||
                    !t["content"].is_string())
                    throw FormatError(file, "an added token lacks an integer 'id' or a string 'content'");
                AddedToken tok;
                const auto id = t["id"].get<int64_t>();
                if (id < 0 || id > INT32_MAX) throw FormatError(file, "added token id " + std::to_string(id) + " is out of range");
                tok.id = static_cast<int32_t>(id);
                tok.content = t["content"].get<std::string>();
                tok.special = boolField(t, "special", false, file);
                tok.normalized = boolField(t, "normalized", !tok.special, file);
                tok.lstrip = boolField(t, "lstrip", false, file);
                tok.rstrip = boolField(t, "rstrip", false, file);
                tok.singleWord = boolField(t, "single_word", false, file);
                spec.added.push_back(std::move(tok));
            }
        }
        spec.nfc = normalizerIsNfc(doc.value("normalizer", Json()), file);
        spec.addPrefixSpace = readPreTokenizer(doc.value("pre_tokenizer", Json()), file);
    } catch (const Json::exception& e) {
        throw FormatError(file, std::string("unexpected structure: ") + e.what());
    }
    return std::make_unique<BpeTokenizer>(std::move(spec), file);
}

std::unique_ptr<Tokenizer> bpeFromVocabMerges(const std::filesystem::path& vocabFile,
                                              const std::filesystem::path& mergesFile) {
    BpeSpec spec;
    {
        const Json vocab = detail::readJsonFile(vocabFile, "vocab.json", uint64_t(1) << 30);
        readVocab(vocab, vocabFile.string(), spec);
    }
    std::ifstream in(mergesFile, std::ios::binary);
    if (!in) throw FormatError(mergesFile.string(), "cannot open");
    std::string line;
    size_t index = 0;
    bool first = true;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (first && line.rfind("#version", 0) == 0) {
            first = false;
            continue;
        }
        first = false;
        if (line.empty()) continue;
        spec.merges.push_back(splitMergeLine(line, mergesFile.string(), index++));
    }
    for (const auto& [token, id] : spec.vocab)
        if (token == "<|endoftext|>") spec.added.push_back(AddedToken{id, token, true, false});
    return std::make_unique<BpeTokenizer>(std::move(spec), mergesFile.string());
}

nlohmann::ordered_json BpeTokenizer::toJson() const {
    using OJ = nlohmann::ordered_json;
    OJ added = OJ::array();
    for (const auto& t : m_spec.added)
        added.push_back(OJ{{"id", t.id},           {"content", t.content}, {"single_word", t.singleWord},
                           {"lstrip", t.lstrip},   {"rstrip", t.rstrip},   {"normalized", t.normalized},
                           {"special", t.special}});
    OJ byteLevel{{"type", "ByteLevel"}, {"add_prefix_space", m_spec.addPrefixSpace}, {"trim_offsets", true},
                 {"use_regex", true}};
    // Sorted by id so the file reads naturally; the order carries no meaning in HF.
    std::vector<std::pair<std::string, int32_t>> vocab = m_spec.vocab;
    std::sort(vocab.begin(), vocab.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    OJ vocabJson = OJ::object();
    for (const auto& [token, id] : vocab) vocabJson[token] = id;
    bool needArrays = false;
    for (const auto& [a, b] : m_spec.merges)
        if (a.find(' ') != std::string::npos || b.find(' ') != std::string::npos) needArrays = true;
    OJ merges = OJ::array();
    for (const auto& [a, b] : m_spec.merges) {
        if (needArrays) merges.push_back(OJ::array({a, b}));
        else merges.push_back(a + " " + b);
    }
    OJ doc;
    doc["version"] = "1.0";
    doc["truncation"] = nullptr;
    doc["padding"] = nullptr;
    doc["added_tokens"] = added;
    doc["normalizer"] = m_spec.nfc ? OJ{{"type", "NFC"}} : OJ();
    doc["pre_tokenizer"] = byteLevel;
    doc["post_processor"] = byteLevel;
    doc["decoder"] = byteLevel;
    doc["model"] = OJ{{"type", "BPE"},
                      {"dropout", nullptr},
                      {"unk_token", nullptr},
                      {"continuing_subword_prefix", nullptr},
                      {"end_of_word_suffix", nullptr},
                      {"fuse_unk", false},
                      {"byte_fallback", false},
                      {"vocab", vocabJson},
                      {"merges", merges}};
    return doc;
}

void BpeTokenizer::save(const std::filesystem::path& file) const {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(file.string() + ": cannot write");
    out << toJson().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    if (!out) throw std::runtime_error(file.string() + ": write failed");
}

}  // namespace mts::bpe
