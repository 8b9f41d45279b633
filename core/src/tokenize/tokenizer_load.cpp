// loadTokenizer(): recognises the file by its content and hands it to the right reader.
#include <fstream>
#include <sstream>

#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"
#include "runtime/json_file.h"
#include "tokenize/bpe_internal.h"
#include "tokenize/tokenizer_internal.h"

namespace mts {

namespace {
namespace fs = std::filesystem;
constexpr uintmax_t kMaxTokenizerBytes = uintmax_t(1) << 30;

nlohmann::json readJsonFile(const fs::path& file) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (ec) throw FormatError(file.string(), "cannot read: " + ec.message());
    if (size > kMaxTokenizerBytes) throw FormatError(file.string(), "file is too large for a tokenizer");
    return detail::readJsonFile(file, "the tokenizer file", kMaxTokenizerBytes);
}
}  // namespace

std::unique_ptr<Tokenizer> loadTokenizer(const fs::path& fileOrDir) {
    std::error_code ec;
    if (fs::is_directory(fileOrDir, ec)) {
        if (fs::exists(fileOrDir / "tokenizer.json")) return loadTokenizer(fileOrDir / "tokenizer.json");
        if (fs::exists(fileOrDir / "vocab.json") && fs::exists(fileOrDir / "merges.txt"))
            return bpe::bpeFromVocabMerges(fileOrDir / "vocab.json", fileOrDir / "merges.txt");
        throw FormatError(fileOrDir.string(), "holds neither tokenizer.json nor vocab.json + merges.txt");
    }
    if (!fs::exists(fileOrDir, ec)) throw FormatError(fileOrDir.string(), "no such file");
    if (fileOrDir.extension() == ".txt") {
        // merges.txt given directly: its vocab.json must sit beside it.
        const auto vocab = fileOrDir.parent_path() / "vocab.json";
        if (!fs::exists(vocab)) throw FormatError(fileOrDir.string(), "merges file without vocab.json beside it");
        return bpe::bpeFromVocabMerges(vocab, fileOrDir);
    }
    const std::string file = fileOrDir.string();
    const nlohmann::json doc = readJsonFile(fileOrDir);
    if (!doc.is_object()) throw FormatError(file, "a tokenizer file must hold a JSON object");
    if (doc.contains("type") && doc["type"] == "mts-byte") return detail::byteFromJson(doc, file);
    const auto model = doc.find("model");
    if (model == doc.end() || !model->is_object()) {
        // A bare GPT-2 vocab.json (token -> id) with merges.txt beside it.
        const auto merges = fileOrDir.parent_path() / "merges.txt";
        if (fs::exists(merges) && !doc.empty() && doc.begin()->is_number_integer())
            return bpe::bpeFromVocabMerges(fileOrDir, merges);
        throw FormatError(file, "missing 'model' object (not a Hugging Face tokenizer.json)");
    }
    std::string type;
    if (model->contains("type")) {
        if (!(*model)["type"].is_string()) throw FormatError(file, "model.type must be a string");
        type = (*model)["type"].get<std::string>();
    } else if (model->contains("merges")) {
        type = "BPE";  // older HF files omit the type
    }
    if (type == "BPE") return bpe::bpeFromHfJson(doc, file);
    if (type == "WordLevel") return detail::wordLevelFromHfJson(doc, file);
    throw FormatError(file, "unsupported model type '" + type + "' (supported: BPE, WordLevel)");
}

}  // namespace mts
