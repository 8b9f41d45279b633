// The default tokenizer: one id per byte, 256 = <|endoftext|>.
#include <fstream>

#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"
#include "tokenize/tokenizer_internal.h"
#include "tokenize/utf8_util.h"

namespace mts {

namespace {
constexpr int32_t kByteEos = 256;
constexpr std::string_view kEosText = "<|endoftext|>";

class ByteTokenizer final : public Tokenizer {
public:
    std::string kind() const override { return "byte"; }
    std::vector<int32_t> encode(std::string_view text) const override {
        std::vector<int32_t> out;
        out.reserve(text.size());
        size_t pos = 0;
        while (pos < text.size()) {
            const size_t hit = text.find(kEosText, pos);
            const size_t end = hit == std::string_view::npos ? text.size() : hit;
            for (size_t i = pos; i < end; ++i) out.push_back(static_cast<uint8_t>(text[i]));
            if (hit == std::string_view::npos) break;
            out.push_back(kByteEos);
            pos = hit + kEosText.size();
        }
        return out;
    }
    std::string decode(const std::vector<int32_t>& ids) const override {
        std::string bytes;
        bytes.reserve(ids.size());
        for (int32_t id : ids) bytes += tokenBytes(id);
        return utf8::sanitize(bytes);
    }
    std::string tokenBytes(int32_t id) const override {
        if (id >= 0 && id < 256) return std::string(1, static_cast<char>(id));
        if (id == kByteEos) return std::string(kEosText);
        return {};
    }
    int64_t vocabSize() const override { return 257; }
    std::optional<int32_t> eosId() const override { return kByteEos; }
    void save(const std::filesystem::path& file) const override {
        // A small format of our own: HF has no byte-identity model.
        const nlohmann::ordered_json doc{{"type", "mts-byte"},
                                         {"version", 1},
                                         {"vocab_size", 257},
                                         {"eos_token", std::string(kEosText)},
                                         {"eos_id", kByteEos},
                                         {"description", "ids 0-255 are the bytes of the UTF-8 text; 256 is <|endoftext|>"}};
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error(file.string() + ": cannot write");
        out << doc.dump(2) << '\n';
        if (!out) throw std::runtime_error(file.string() + ": write failed");
    }
};
}  // namespace

std::unique_ptr<Tokenizer> makeByteTokenizer() { return std::make_unique<ByteTokenizer>(); }

namespace detail {
std::unique_ptr<Tokenizer> byteFromJson(const nlohmann::json& doc, const std::string& file) {
    const auto version = doc.value("version", nlohmann::json());
    if (!version.is_number_integer() || version.get<int>() != 1)
        throw FormatError(file, "mts-byte tokenizer: unsupported or missing version");
    const auto size = doc.value("vocab_size", nlohmann::json());
    if (!size.is_number_integer() || size.get<int64_t>() != 257)
        throw FormatError(file, "mts-byte tokenizer: vocab_size must be 257");
    const auto eos = doc.value("eos_id", nlohmann::json());
    if (!eos.is_number_integer() || eos.get<int64_t>() != kByteEos)
        throw FormatError(file, "mts-byte tokenizer: eos_id must be 256");
    return makeByteTokenizer();
}
}  // namespace detail

}  // namespace mts
