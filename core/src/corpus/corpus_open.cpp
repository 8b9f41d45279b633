// openCorpus(): the reading side of a corpus directory, with every piece checked.
#include <fstream>

#include "mts/core/corpus/corpus.h"
#include "mts/core/runtime/errors.h"
#include "runtime/json_file.h"

namespace mts {

namespace fs = std::filesystem;

namespace {
constexpr uint64_t kMaxManifestBytes = uint64_t(64) << 20;
void checkCount(const TokenFile& file, const nlohmann::json& manifest, const char* split) {
    const auto tokens = manifest.find("tokens");
    if (tokens == manifest.end() || !tokens->is_object() || !tokens->contains(split) ||
        !(*tokens)[split].is_number_unsigned())
        throw FormatError((file.path().parent_path() / "manifest.json").string(),
                          std::string("missing tokens.") + split);
    const auto expected = (*tokens)[split].get<uint64_t>();
    if (expected != file.size())
        throw FormatError(file.path().string(), "holds " + std::to_string(file.size()) +
                                                    " tokens but manifest.json says " + std::to_string(expected));
}

void checkIds(const TokenFile& file, int64_t vocab) {
    if (file.dtypeBytes() == 2 && vocab > 65536)
        throw FormatError(file.path().string(), "uint16 tokens cannot hold a vocabulary of " + std::to_string(vocab));
    constexpr uint64_t kChunk = 1 << 16;
    std::vector<int64_t> buf(kChunk);
    for (uint64_t start = 0; start < file.size(); start += kChunk) {
        const uint64_t n = std::min<uint64_t>(kChunk, file.size() - start);
        file.read(start, n, buf.data());
        for (uint64_t k = 0; k < n; ++k)
            if (buf[k] >= vocab)
                throw FormatError(file.path().string(), "token " + std::to_string(start + k) + " has id " +
                                                            std::to_string(buf[k]) + ", outside the vocabulary of " +
                                                            std::to_string(vocab));
    }
}
}  // namespace

Corpus openCorpus(const fs::path& dir, bool verifyIds) {
    Corpus c;
    c.dir = dir;
    const fs::path manifestFile = dir / "manifest.json";
    const auto text = detail::readSmallFile(manifestFile, kMaxManifestBytes);
    if (!text) throw FormatError(manifestFile.string(), "missing, unreadable or too large (not a corpus directory?)");
    c.manifest = detail::parseJsonText(*text, manifestFile.string(), "the corpus manifest");
    const nlohmann::json format = c.manifest.is_object() ? c.manifest.value("format", nlohmann::json()) : nlohmann::json();
    if (!format.is_string() || format.get<std::string>() != "mts-corpus")
        throw FormatError(manifestFile.string(), "not an mts-corpus manifest");
    const auto version = c.manifest.find("version");
    if (version == c.manifest.end() || !version->is_number_integer() || version->get<int64_t>() != 1)
        throw FormatError(manifestFile.string(), "unsupported corpus version");
    c.tokenizer = loadTokenizer(dir / "tokenizer.json");
    c.train = TokenFile(dir / "train.bin");
    c.val = TokenFile(dir / "val.bin");
    checkCount(c.train, c.manifest, "train");
    checkCount(c.val, c.manifest, "val");
    if (verifyIds) {
        checkIds(c.train, c.tokenizer->vocabSize());
        checkIds(c.val, c.tokenizer->vocabSize());
    }
    return c;
}

}  // namespace mts
