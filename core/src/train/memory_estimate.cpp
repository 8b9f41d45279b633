#include "mts/core/train/memory_estimate.h"

#include <algorithm>

#include <fmt/format.h>

#include "mts/core/model/parameter_count.h"
#include "mts/core/runtime/errors.h"

namespace mts {

int64_t countParameters(const ModelConfig& c) {
    c.validate();  // refuses configs whose count overflows
    return *checkedParameterCount(c);
}

namespace {

// Elements saved for backward per token by one block (fp32 training).
int64_t blockActivationsPerToken(const ModelConfig& c, int64_t seqLen) {
    const int64_t d = c.dModel;
    switch (c.arch) {
        case Architecture::Mamba: {
            const int64_t di = c.dInner(), n = c.dState, r = c.resolvedDtRank();
            // norm in/out, block out; in_proj out (x, z), fused conv+SiLU out, dt_proj out, the
            // fused scan's saved inputs and output, out_proj in (measured: ~8 D_inner per token).
            return 3 * d + 8 * di + 2 * (r + 2 * n);
        }
        case Architecture::Mamba2: {
            // norm in/out, block out; in_proj out, conv+SiLU out, x*dt, chunked-SSD outputs and the
            // gated norm's products (~10 D_inner); per head the chunk's Q x Q decay, masked sums and
            // scores (3 H Q), per group C B^T (G Q); the chunk states, the states entering each
            // chunk and their copies (3 D_inner N / Q). Estimate, not yet measured against peak RSS.
            const int64_t di = c.dInner(), gn = c.nGroups * c.dState, h = di / c.headDim;
            const int64_t q = std::max<int64_t>(1, std::min(c.chunkSize, seqLen));
            return 3 * d + 10 * di + 4 * gn + 3 * h * q + c.nGroups * q + 3 * di * c.dState / q;
        }
        case Architecture::Transformer:
        case Architecture::Attention1: {
            // ln in/out x2, qkv, q/k/v views made contiguous, attention out, MLP (4d in, GELU 4d),
            // residuals; scores and softmax probabilities (heads x L per token each; measured on
            // the mini preset: 800 MB predicted against 763 MB peak RSS).
            const int64_t m = c.mlpRatio * d;
            return 12 * d + 3 * m + 2 * c.nHead * seqLen;
        }
        case Architecture::Linear:
            return d * c.context;
        case Architecture::Moe: {
            // The Transformer's, with k expert MLPs per token plus the router's gathers.
            const int64_t m = c.mlpRatio * d;
            return 12 * d + 3 * m * c.expertsPerToken + 2 * c.nHead * seqLen + 2 * c.expertsPerToken * d;
        }
    }
    return 0;
}

std::string mb(int64_t bytes) {
    double v = static_cast<double>(bytes);
    if (v >= 1024.0 * 1024 * 1024) return fmt::format("{:.1f} GB", v / (1024.0 * 1024 * 1024));
    return fmt::format("{:.0f} MB", v / (1024.0 * 1024));
}

}  // namespace

MemoryEstimate estimateMemory(const TrainConfig& config, bool cuda, int64_t budgetBytes) {
    const ModelConfig& c = config.model;
    MemoryEstimate e;
    e.parameters = countParameters(c);
    const bool mixed = config.precision != Precision::Fp32;
    e.paramBytes = 4 * e.parameters;
    e.gradBytes = 4 * e.parameters;
    if (config.optimizer == OptimizerKind::AdamW) {
        e.optimizerBytes = 8 * e.parameters;
    } else {
        // Hidden matrices keep one momentum buffer, the rest two Adam moments.
        const int64_t emb = c.paddedVocab() * c.dModel;
        const int64_t hidden = std::max<int64_t>(0, e.parameters - emb) * 9 / 10;
        e.optimizerBytes = 4 * hidden + 8 * (e.parameters - hidden);
    }
    const int64_t tokens = config.microBatch * config.seqLen;
    const int64_t actElem = mixed ? 3 : 4;  // bf16/fp16 activations, some kept in fp32
    const int64_t layers =
        c.arch == Architecture::Mamba || c.arch == Architecture::Mamba2 || c.arch == Architecture::Transformer ||
                c.arch == Architecture::Moe
            ? c.nLayer
            : 1;
    const int64_t perBlock = blockActivationsPerToken(c, config.seqLen) * tokens * actElem;
    const int64_t embedOut = tokens * c.dModel * 4;
    e.activationBytesNoCheckpoint = layers * perBlock + embedOut;
    // Checkpointing keeps each block's input and rebuilds one block at a time in backward; the
    // rebuilt block's activations and their gradients peak together: ~2.5 blocks for Mamba,
    // ~2 for the Transformer (measured on the mini presets, tests/core/slow/test_train_memory).
    const int64_t rebuiltHalves = c.arch == Architecture::Mamba || c.arch == Architecture::Mamba2 ? 5 : 4;
    e.activationBytesCheckpoint = layers * tokens * c.dModel * 4 + perBlock * rebuiltHalves / 2 + embedOut;
    e.activationBytes = config.gradCheckpointing ? e.activationBytesCheckpoint : e.activationBytesNoCheckpoint;
    // Logits (B, L, V) in the model dtype, their fp32 copy, log-softmax and its gradient.
    const int64_t logits = tokens * c.paddedVocab();
    e.workspaceBytes = logits * (mixed ? 2 : 4) + 3 * logits * 4;
    if (mixed) e.workspaceBytes += 2 * e.parameters;  // autocast's cached low-precision weights
    e.runtimeBytes = cuda ? int64_t(600) << 20 : int64_t(220) << 20;
    e.peakBytes = e.paramBytes + e.gradBytes + e.optimizerBytes + e.activationBytes + e.workspaceBytes + e.runtimeBytes;
    e.budgetBytes = budgetBytes;
    e.fits = budgetBytes <= 0 || e.peakBytes <= budgetBytes;
    return e;
}

std::string MemoryEstimate::summary() const {
    std::string s = fmt::format(
        "params {:.2f}M: weights {}, grads {}, optimizer {}, activations {} ({} without checkpointing, {} with), "
        "workspace {}, runtime {}; peak ~{}",
        static_cast<double>(parameters) / 1e6, mb(paramBytes), mb(gradBytes), mb(optimizerBytes), mb(activationBytes),
        mb(activationBytesNoCheckpoint), mb(activationBytesCheckpoint), mb(workspaceBytes), mb(runtimeBytes),
        mb(peakBytes));
    if (budgetBytes > 0) s += fmt::format(" of {}: {}", mb(budgetBytes), fits ? "fits" : "does NOT fit");
    return s;
}

}  // namespace mts
