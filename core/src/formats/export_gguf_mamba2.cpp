// GGUF export for llama.cpp's "mamba2" architecture. Keys and tensors as llama.cpp's
// convert_hf_to_gguf.py (Mamba2Model) writes them and src/models/mamba2.cpp loads them:
//   token_embd {D, V}; blk.N.attn_norm {D}; ssm_in {D, 2*Di + 2*G*N + H}; ssm_conv1d {K, Di + 2*G*N}
//   (+ .bias); ssm_dt.bias {H}; ssm_a = -exp(A_log) {1, H}; ssm_d {1, H};
//   ssm_norm {Di/G, G} (the gated RMSNorm is per group); ssm_out {Di, D}; output_norm; output.
// (ggml order: ne[0] first; the torch shapes below are the reverse.) llama.cpp computes
// y = ssm_scan(x, softplus(dt + dt_bias), A, B, C) + D x, then rms_norm_grouped(y * silu(z)) * w,
// with the block's RMSNorm epsilon for both norms, as our model does.
#include <fmt/format.h>

#include "formats/export_gguf_internal.h"
#include "mts/core/runtime/errors.h"

namespace mts::detail {
namespace {

using gguf::TensorType;
using gguf::Value;

std::string shapeStr(c10::IntArrayRef s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

}  // namespace

ExportResult exportGgufMamba2(const ModelConfig& c, const std::map<std::string, torch::Tensor>& params,
                              const Tokenizer& tokenizer, const std::filesystem::path& outFile, ExportDtype dtype) {
    if (c.arch != Architecture::Mamba2)
        throw ConfigError(fmt::format("arch: llama.cpp's 'mamba2' GGUF needs a Mamba-2 model, not {}", toString(c.arch)));
    c.validate();
    if (c.projBias) throw ConfigError("proj_bias: llama.cpp's Mamba-2 has no in_proj/out_proj bias");
    const int64_t d = c.dModel, di = c.dInner(), h = c.dInner() / c.headDim, g = c.nGroups, n = c.dState, k = c.dConv;
    const int64_t convDim = di + 2 * g * n, inRows = di + convDim + h, rows = c.paddedVocab();

    ExportResult result;
    torch::NoGradGuard noGrad;
    // Each parameter by name, checked against the shape the config implies, as fp32 on the CPU.
    auto get = [&](const std::string& key, std::vector<int64_t> shape) {
        auto it = params.find(key);
        if (it == params.end()) throw ConfigError("model has no parameter " + key);
        if (it->second.sizes() != c10::IntArrayRef(shape))
            throw ConfigError(fmt::format("{}: shape {} but the Mamba-2 config implies {}", key,
                                          shapeStr(it->second.sizes()), shapeStr(shape)));
        return it->second.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    };
    const GgufBigType bigFor(dtype, result.warnings);
    const GgufVocab vocab = ggufVocab(tokenizer, rows);

    gguf::Writer w;
    setGgufGeneral(w, "mamba2", outFile, dtype);
    // No context limit; llama.cpp's converter records 2^20.
    w.set("mamba2.context_length", Value::u32(1u << 20));
    w.set("mamba2.embedding_length", Value::u32(static_cast<uint32_t>(d)));
    w.set("mamba2.feed_forward_length", Value::u32(0));   // unused, read by the loader
    w.set("mamba2.attention.head_count", Value::u32(0));  // unused, read by the loader
    w.set("mamba2.block_count", Value::u32(static_cast<uint32_t>(c.nLayer)));
    w.set("mamba2.ssm.conv_kernel", Value::u32(static_cast<uint32_t>(k)));
    w.set("mamba2.ssm.inner_size", Value::u32(static_cast<uint32_t>(di)));
    w.set("mamba2.ssm.state_size", Value::u32(static_cast<uint32_t>(n)));
    w.set("mamba2.ssm.time_step_rank", Value::u32(static_cast<uint32_t>(h)));  // llama.cpp: the head count
    w.set("mamba2.ssm.group_count", Value::u32(static_cast<uint32_t>(g)));
    w.set("mamba2.attention.layer_norm_rms_epsilon", Value::f32(static_cast<float>(c.normEps)));
    setGgufTokenizer(w, vocab, tokenizer);

    const torch::Tensor embd = get("backbone.embeddings.weight", {rows, d});
    w.addTensor("token_embd.weight", embd, bigFor(embd, "token_embd.weight"));
    for (int64_t i = 0; i < c.nLayer; ++i) {
        const std::string p = fmt::format("backbone.layers.{}.", i);
        const std::string b = fmt::format("blk.{}.", i);
        w.addTensor(b + "attn_norm.weight", get(p + "norm.weight", {d}), TensorType::F32);
        const torch::Tensor inProj = get(p + "mixer.in_proj.weight", {inRows, d});
        w.addTensor(b + "ssm_in.weight", inProj, bigFor(inProj, b + "ssm_in.weight"));
        // (conv_dim, 1, K) -> (conv_dim, K): llama.cpp's ssm_conv takes the squeezed kernel.
        w.addTensor(b + "ssm_conv1d.weight", get(p + "mixer.conv1d.weight", {convDim, 1, k}).reshape({convDim, k}),
                    TensorType::F32);
        // llama.cpp's mamba2 always adds the conv bias; a model without one exports zeros.
        const torch::Tensor convBias = c.convBias ? get(p + "mixer.conv1d.bias", {convDim}) : torch::zeros({convDim});
        w.addTensor(b + "ssm_conv1d.bias", convBias, TensorType::F32);
        w.addTensor(b + "ssm_dt.bias", get(p + "mixer.dt_bias", {h}), TensorType::F32);
        // A itself (not its log), and A and D as (H, 1) = ggml {1, H}, as llama.cpp expects.
        w.addTensor(b + "ssm_a", (-torch::exp(get(p + "mixer.A_log", {h}))).reshape({h, 1}), TensorType::F32);
        w.addTensor(b + "ssm_d", get(p + "mixer.D", {h}).reshape({h, 1}), TensorType::F32);
        // The gated norm's weight by group: (G, Di/G) = ggml {Di/G, G}.
        w.addTensor(b + "ssm_norm.weight", get(p + "mixer.norm.weight", {di}).reshape({g, di / g}), TensorType::F32);
        const torch::Tensor outProj = get(p + "mixer.out_proj.weight", {d, di});
        w.addTensor(b + "ssm_out.weight", outProj, bigFor(outProj, b + "ssm_out.weight"));
    }
    w.addTensor("output_norm.weight", get("backbone.norm_f.weight", {d}), TensorType::F32);
    // Tied head: llama.cpp falls back to token_embd when output.weight is absent.
    if (!c.tieEmbeddings) {
        const torch::Tensor head = get("lm_head.weight", {rows, d});
        w.addTensor("output.weight", head, bigFor(head, "output.weight"));
    }
    w.write(outFile);
    result.files.push_back(outFile);
    return result;
}

}  // namespace mts::detail
