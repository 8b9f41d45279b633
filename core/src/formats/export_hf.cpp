// Hugging Face export: MambaForCausalLM for Mamba, Mamba2ForCausalLM for Mamba-2, GPT2LMHeadModel for
// the Transformer baseline.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <unistd.h>

#include "mts/core/formats/export.h"
#include "mts/core/formats/hf_config.h"
#include "mts/core/formats/safetensors.h"
#include "mts/core/runtime/durable_file.h"
#include "mts/core/runtime/errors.h"

namespace mts {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string utf8Of(uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
        s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    return s;
}

void writeJsonFile(const fs::path& file, const json& j, ExportResult& result) {
    try {
        writeFileAtomic(file, j.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
    } catch (const std::runtime_error& e) {
        throw FormatError(file.string(), e.what());
    }
    result.files.push_back(file);
}

torch::Tensor asDtype(const torch::Tensor& t, ExportDtype dtype) {
    return t.detach().to(torch::kCPU).to(dtype == ExportDtype::F16 ? torch::kFloat16 : torch::kFloat32).contiguous();
}

std::map<std::string, torch::Tensor> paramMap(LanguageModelImpl& model) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& p : model.named_parameters(true)) out[p.key()] = p.value().detach();
    return out;
}

// Special ids as Hugging Face configs record them: the studio's tokenizers have one
// end-of-document token that also serves as BOS and padding.
SpecialIds specialIds(const Tokenizer& tok) {
    SpecialIds ids;
    ids.eos = tok.eosId();
    return ids;
}

void writeTokenizerFiles(const fs::path& dir, const Tokenizer& tok, ExportResult& result) {
    writeJsonFile(dir / "tokenizer.json", hfTokenizerJson(tok), result);
    json cfg{{"tokenizer_class", "PreTrainedTokenizerFast"},
             {"clean_up_tokenization_spaces", false},
             {"add_prefix_space", false},
             {"model_max_length", 1000000000}};
    if (auto eos = tok.eosId()) {
        const std::string text = tok.tokenBytes(*eos);
        cfg["eos_token"] = text;
        cfg["bos_token"] = text;
        cfg["unk_token"] = text;
        cfg["pad_token"] = text;
    }
    writeJsonFile(dir / "tokenizer_config.json", cfg, result);
}

void writeGenerationConfig(const fs::path& dir, const Tokenizer& tok, ExportResult& result) {
    // The studio's Generate page defaults (generation.h usage example).
    json g{{"_from_model_config", true}, {"do_sample", true}, {"temperature", 0.8}, {"top_p", 0.95},
           {"max_new_tokens", 200}};
    if (auto eos = tok.eosId()) {
        g["bos_token_id"] = *eos;
        g["eos_token_id"] = *eos;
        g["pad_token_id"] = *eos;
    }
    writeJsonFile(dir / "generation_config.json", g, result);
}

void writeWeights(const fs::path& file, const std::map<std::string, torch::Tensor>& w, ExportResult& result) {
    writeSafetensors(file, w, {{"format", "pt"}});
    result.files.push_back(file);
}

void exportMamba(LanguageModelImpl& model, const Tokenizer& tok, const fs::path& dir, ExportDtype dtype,
                 ExportResult& result) {
    const ModelConfig& c = model.config();
    json cfg = toHfMambaConfig(c, specialIds(tok));
    cfg["torch_dtype"] = dtype == ExportDtype::F16 ? "float16" : "float32";
    if (c.dropout > 0.0) result.warnings.push_back("dropout is not exported (inference only)");
    std::map<std::string, torch::Tensor> w;
    // A tied head is left out: transformers re-ties lm_head to the embedding on load.
    for (const auto& [k, t] : paramMap(model)) w[k] = asDtype(t, dtype);
    writeWeights(dir / "model.safetensors", w, result);
    writeJsonFile(dir / "config.json", cfg, result);
}

void exportMamba2(LanguageModelImpl& model, const Tokenizer& tok, const fs::path& dir, ExportDtype dtype,
                  ExportResult& result) {
    const ModelConfig& c = model.config();
    json cfg = toHfMamba2Config(c, specialIds(tok));
    cfg["torch_dtype"] = dtype == ExportDtype::F16 ? "float16" : "float32";
    if (c.dropout > 0.0) result.warnings.push_back("dropout is not exported (inference only)");
    std::map<std::string, torch::Tensor> w;
    // Our parameter names are transformers' Mamba2ForCausalLM names; a tied head is left out.
    for (const auto& [k, t] : paramMap(model)) w[k] = asDtype(t, dtype);
    writeWeights(dir / "model.safetensors", w, result);
    writeJsonFile(dir / "config.json", cfg, result);
}

void exportGpt2(LanguageModelImpl& model, const Tokenizer& tok, const fs::path& dir, ExportDtype dtype,
                ExportResult& result) {
    const ModelConfig& c = model.config();
    if (c.arch != Architecture::Transformer)
        throw ConfigError(fmt::format("arch: {} has no Hugging Face equivalent (GPT-2 export needs a transformer)",
                                      toString(c.arch)));
    if (c.positions != "learned")
        throw ConfigError("positions: GPT-2 uses learned positions; a rope model cannot be exported as GPT2LMHeadModel");
    json cfg{{"architectures", {"GPT2LMHeadModel"}},
             {"model_type", "gpt2"},
             {"vocab_size", c.paddedVocab()},
             {"n_positions", c.maxSeqLen},
             {"n_ctx", c.maxSeqLen},
             {"n_embd", c.dModel},
             {"n_layer", c.nLayer},
             {"n_head", c.nHead},
             {"n_inner", c.mlpRatio * c.dModel},
             {"activation_function", "gelu"},  // our MLP uses the exact (erf) GELU
             {"layer_norm_epsilon", c.normEps},
             {"initializer_range", c.initStd},
             {"resid_pdrop", 0.0},
             {"embd_pdrop", 0.0},
             {"attn_pdrop", 0.0},
             {"scale_attn_weights", true},
             {"tie_word_embeddings", c.tieEmbeddings},
             {"use_cache", true},
             {"torch_dtype", dtype == ExportDtype::F16 ? "float16" : "float32"}};
    if (auto eos = tok.eosId()) {
        cfg["bos_token_id"] = *eos;
        cfg["eos_token_id"] = *eos;
    }
    std::map<std::string, torch::Tensor> w;
    for (const auto& [k, t] : paramMap(model)) {
        // GPT-2's Conv1D stores weights as (in, out), the transpose of nn.Linear.
        const bool conv1d = t.dim() == 2 && (k.find(".attn.c_attn.weight") != std::string::npos ||
                                             k.find(".attn.c_proj.weight") != std::string::npos ||
                                             k.find(".mlp.c_fc.weight") != std::string::npos ||
                                             k.find(".mlp.c_proj.weight") != std::string::npos);
        w[k] = asDtype(conv1d ? t.t() : t, dtype);
    }
    writeWeights(dir / "model.safetensors", w, result);
    writeJsonFile(dir / "config.json", cfg, result);
}

}  // namespace

ExportDtype exportDtypeFromString(const std::string& s) {
    std::string l = s;
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (l == "f32" || l == "float32") return ExportDtype::F32;
    if (l == "f16" || l == "float16") return ExportDtype::F16;
    if (l == "q8_0" || l == "int8") return ExportDtype::Q8_0;
    throw ConfigError("dtype: expected f32, f16 or q8_0, got '" + s + "'");
}

const std::vector<std::string>& byteToUnicode() {
    // Printable Latin-1 bytes stand for themselves; the other 68 are shifted to 256 + n so
    // every byte has a visible, whitespace-free character.
    static const std::vector<std::string> table = [] {
        std::vector<std::string> t(256);
        uint32_t next = 256;
        for (uint32_t b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            t[b] = utf8Of(printable ? b : next++);
        }
        return t;
    }();
    return table;
}

json hfTokenizerJson(const Tokenizer& tok) {
    if (tok.kind() != "byte") {
        // BPE and word tokenizers save Hugging Face's format themselves.
        char name[] = "/tmp/mts-tokenizer-XXXXXX";
        int fd = ::mkstemp(name);
        if (fd < 0) throw FormatError(name, "cannot create a temporary file");
        ::close(fd);
        json doc;
        try {
            tok.save(name);
            std::ifstream in(name, std::ios::binary);
            doc = json::parse(in);
        } catch (...) {
            ::unlink(name);
            throw;
        }
        ::unlink(name);
        return doc;
    }
    json vocab = json::object();
    const auto& table = byteToUnicode();
    for (int b = 0; b < 256; ++b) vocab[table[b]] = b;
    json added = json::array();
    if (auto eos = tok.eosId()) {
        added.push_back({{"id", *eos}, {"content", tok.tokenBytes(*eos)}, {"single_word", false}, {"lstrip", false},
                         {"rstrip", false}, {"normalized", false}, {"special", true}});
    }
    json byteLevel{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
    return json{{"version", "1.0"},
                {"truncation", nullptr},
                {"padding", nullptr},
                {"added_tokens", added},
                {"normalizer", nullptr},
                {"pre_tokenizer", byteLevel},
                {"post_processor", byteLevel},
                {"decoder", byteLevel},
                {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                           {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                           {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
                           {"merges", json::array()}}}};
}

ExportResult exportHuggingFace(LanguageModelImpl& model, const Tokenizer& tokenizer, const fs::path& outDir,
                               ExportDtype dtype) {
    ExportResult result;
    if (dtype == ExportDtype::Q8_0)
        throw ConfigError("dtype: q8_0 is for GGUF export only; a Hugging Face folder takes f32 or f16");
    if (tokenizer.vocabSize() > model.config().paddedVocab())
        throw ConfigError(fmt::format("vocab_size: the tokenizer has {} ids but the model only {} rows",
                                      tokenizer.vocabSize(), model.config().paddedVocab()));
    std::error_code ec;
    fs::create_directories(outDir, ec);
    if (ec) throw FormatError(outDir.string(), "cannot create folder: " + ec.message());
    torch::NoGradGuard noGrad;
    if (model.config().arch == Architecture::Mamba)
        exportMamba(model, tokenizer, outDir, dtype, result);
    else if (model.config().arch == Architecture::Mamba2)
        exportMamba2(model, tokenizer, outDir, dtype, result);
    else
        exportGpt2(model, tokenizer, outDir, dtype, result);
    writeTokenizerFiles(outDir, tokenizer, result);
    writeGenerationConfig(outDir, tokenizer, result);
    return result;
}

}  // namespace mts
