// GGUF export for llama.cpp's "mamba" architecture: metadata keys, tensor names and layouts as
// its Mamba loader expects them (GGUF spec + llama.cpp's tensor naming), tokenizer embedded as
// a GPT-2 style byte-level BPE vocabulary.
#include <fmt/format.h>

#include "formats/export_gguf_internal.h"
#include "mts/core/formats/export.h"
#include "mts/core/formats/gguf.h"
#include "mts/core/runtime/errors.h"

namespace mts {
namespace fs = std::filesystem;
using nlohmann::json;
using gguf::TensorType;
using gguf::Value;

namespace detail {

// llama.cpp's token types.
enum TokenType : int32_t { kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5 };

// The tokenizer as llama.cpp's "gpt2" vocabulary, padded to the embedding's rows with
// [PADn] tokens of type UNUSED (what llama.cpp's own converter does for padded vocabularies).
GgufVocab ggufVocab(const Tokenizer& tok, int64_t rows) {
    GgufVocab v;
    v.tokens.assign(static_cast<size_t>(rows), std::string());
    v.types.assign(static_cast<size_t>(rows), kUnused);
    if (tok.kind() == "word")
        throw ConfigError("tokenizer: a word-level tokenizer has no llama.cpp GGUF equivalent (use byte or BPE)");
    const json doc = hfTokenizerJson(tok);
    const json& model = doc.at("model");
    for (auto it = model.at("vocab").begin(); it != model.at("vocab").end(); ++it) {
        const int64_t id = it.value().get<int64_t>();
        if (id < 0 || id >= rows) throw ConfigError(fmt::format("tokenizer: id {} is outside the model's {} rows", id, rows));
        v.tokens[id] = it.key();
        v.types[id] = kNormal;
    }
    for (const auto& m : model.at("merges")) {
        if (m.is_string()) {
            v.merges.push_back(m.get<std::string>());
        } else {
            const std::string a = m.at(0).get<std::string>(), b = m.at(1).get<std::string>();
            if (a.find(' ') != std::string::npos || b.find(' ') != std::string::npos)
                throw ConfigError("tokenizer: a merge with a literal space cannot be written to GGUF");
            v.merges.push_back(a + " " + b);
        }
    }
    if (doc.contains("added_tokens") && doc.at("added_tokens").is_array()) {
        for (const auto& a : doc.at("added_tokens")) {
            const int64_t id = a.at("id").get<int64_t>();
            if (id < 0 || id >= rows) throw ConfigError(fmt::format("tokenizer: added id {} is outside the model's {} rows", id, rows));
            v.tokens[id] = a.at("content").get<std::string>();
            v.types[id] = a.value("special", false) ? kControl : kUserDefined;
        }
    }
    for (int64_t id = 0; id < rows; ++id)
        if (v.types[id] == kUnused) v.tokens[id] = fmt::format("[PAD{}]", id);
    return v;
}

void setGgufGeneral(gguf::Writer& w, const std::string& arch, const fs::path& outFile, ExportDtype dtype) {
    w.set("general.architecture", Value::str(arch));
    w.set("general.name", Value::str(outFile.stem().string()));
    // ALL_F32 / MOSTLY_F16 / MOSTLY_Q8_0
    w.set("general.file_type", Value::u32(dtype == ExportDtype::F16 ? 1 : dtype == ExportDtype::Q8_0 ? 7 : 0));
    w.set("general.quantization_version", Value::u32(2));
}

void setGgufTokenizer(gguf::Writer& w, const GgufVocab& vocab, const Tokenizer& tokenizer) {
    w.set("tokenizer.ggml.model", Value::str("gpt2"));
    w.set("tokenizer.ggml.pre", Value::str("gpt-2"));
    w.set("tokenizer.ggml.tokens", Value::strArray(vocab.tokens));
    w.set("tokenizer.ggml.token_type", Value::i32Array(vocab.types));
    w.set("tokenizer.ggml.merges", Value::strArray(vocab.merges));
    if (auto eos = tokenizer.eosId()) {
        w.set("tokenizer.ggml.bos_token_id", Value::u32(static_cast<uint32_t>(*eos)));
        w.set("tokenizer.ggml.eos_token_id", Value::u32(static_cast<uint32_t>(*eos)));
        w.set("tokenizer.ggml.padding_token_id", Value::u32(static_cast<uint32_t>(*eos)));
    }
    w.set("tokenizer.ggml.add_bos_token", Value::boolean(false));
}

TensorType GgufBigType::operator()(const torch::Tensor& t, const std::string& name) const {
    const TensorType big = m_dtype == ExportDtype::F16    ? TensorType::F16
                           : m_dtype == ExportDtype::Q8_0 ? TensorType::Q8_0
                                                          : TensorType::F32;
    // Q8_0 blocks run along each row; a row length that is not a multiple of 32 stays f16.
    if (big == TensorType::Q8_0 && t.size(-1) % 32 != 0) {
        m_warnings.push_back(fmt::format("{}: rows of {} values are not a multiple of 32; stored as f16", name, t.size(-1)));
        return TensorType::F16;
    }
    return big;
}

}  // namespace detail

ExportResult exportGguf(LanguageModelImpl& model, const Tokenizer& tokenizer, const fs::path& outFile,
                        ExportDtype dtype) {
    const ModelConfig& c = model.config();
    if (c.arch == Architecture::Mamba2) {
        std::map<std::string, torch::Tensor> params;
        for (const auto& p : model.named_parameters(true)) params[p.key()] = p.value();
        return detail::exportGgufMamba2(c, params, tokenizer, outFile, dtype);
    }
    if (c.arch != Architecture::Mamba)
        throw ConfigError(fmt::format("arch: GGUF export supports Mamba and Mamba-2 models (llama.cpp 'mamba', "
                                      "'mamba2'), not {}", toString(c.arch)));
    if (c.residualGate || c.blockLayerNorm || c.gelu)
        throw ConfigError("residual_gate/block_layer_norm/gelu: llama.cpp's Mamba has no such variant");
    if (c.projBias) throw ConfigError("proj_bias: llama.cpp's Mamba has no in_proj/out_proj bias");
    ExportResult result;
    torch::NoGradGuard noGrad;
    auto params = model.named_parameters(true);
    auto get = [&](const std::string& key) {
        const torch::Tensor* t = params.find(key);
        if (!t) throw ConfigError("model has no parameter " + key);
        return t->detach().to(torch::kCPU, torch::kFloat32);
    };
    const detail::GgufBigType bigFor(dtype, result.warnings);
    const int64_t rows = c.paddedVocab();
    const detail::GgufVocab vocab = detail::ggufVocab(tokenizer, rows);

    gguf::Writer w;
    detail::setGgufGeneral(w, "mamba", outFile, dtype);
    // Mamba has no context limit; llama.cpp's converter records 2^20 as well.
    w.set("mamba.context_length", Value::u32(1u << 20));
    w.set("mamba.embedding_length", Value::u32(static_cast<uint32_t>(c.dModel)));
    w.set("mamba.feed_forward_length", Value::u32(0));
    w.set("mamba.attention.head_count", Value::u32(0));
    w.set("mamba.block_count", Value::u32(static_cast<uint32_t>(c.nLayer)));
    w.set("mamba.ssm.conv_kernel", Value::u32(static_cast<uint32_t>(c.dConv)));
    w.set("mamba.ssm.inner_size", Value::u32(static_cast<uint32_t>(c.dInner())));
    w.set("mamba.ssm.state_size", Value::u32(static_cast<uint32_t>(c.dState)));
    w.set("mamba.ssm.time_step_rank", Value::u32(static_cast<uint32_t>(c.resolvedDtRank())));
    w.set("mamba.attention.layer_norm_rms_epsilon", Value::f32(static_cast<float>(c.normEps)));
    w.set("mamba.ssm.dt_b_c_rms", Value::boolean(false));
    detail::setGgufTokenizer(w, vocab, tokenizer);

    const torch::Tensor embd = get("backbone.embeddings.weight");
    w.addTensor("token_embd.weight", embd, bigFor(embd, "token_embd.weight"));
    for (int64_t i = 0; i < c.nLayer; ++i) {
        const std::string p = fmt::format("backbone.layers.{}.", i);
        const std::string b = fmt::format("blk.{}.", i);
        w.addTensor(b + "attn_norm.weight", get(p + "norm.weight"), TensorType::F32);
        const torch::Tensor inProj = get(p + "mixer.in_proj.weight");
        w.addTensor(b + "ssm_in.weight", inProj, bigFor(inProj, b + "ssm_in.weight"));
        // (D_inner, 1, K) -> (D_inner, K): llama.cpp's ssm_conv takes the squeezed kernel.
        w.addTensor(b + "ssm_conv1d.weight", get(p + "mixer.conv1d.weight").reshape({c.dInner(), c.dConv}), TensorType::F32);
        // llama.cpp always adds the conv bias; a model without one exports zeros (same output).
        torch::Tensor convBias = c.convBias ? get(p + "mixer.conv1d.bias") : torch::zeros({c.dInner()});
        w.addTensor(b + "ssm_conv1d.bias", convBias, TensorType::F32);
        w.addTensor(b + "ssm_x.weight", get(p + "mixer.x_proj.weight"), TensorType::F32);
        w.addTensor(b + "ssm_dt.weight", get(p + "mixer.dt_proj.weight"), TensorType::F32);
        w.addTensor(b + "ssm_dt.bias", get(p + "mixer.dt_proj.bias"), TensorType::F32);
        // llama.cpp stores A itself, not its log.
        w.addTensor(b + "ssm_a", -torch::exp(get(p + "mixer.A_log")), TensorType::F32);
        w.addTensor(b + "ssm_d", get(p + "mixer.D"), TensorType::F32);
        const torch::Tensor outProj = get(p + "mixer.out_proj.weight");
        w.addTensor(b + "ssm_out.weight", outProj, bigFor(outProj, b + "ssm_out.weight"));
    }
    w.addTensor("output_norm.weight", get("backbone.norm_f.weight"), TensorType::F32);
    // Tied head: llama.cpp falls back to token_embd when output.weight is absent.
    if (!c.tieEmbeddings) {
        const torch::Tensor head = get("lm_head.weight");
        w.addTensor("output.weight", head, bigFor(head, "output.weight"));
    }
    w.write(outFile);
    result.files.push_back(outFile);
    return result;
}

}  // namespace mts
