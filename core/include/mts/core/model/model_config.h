#pragma once
// ModelConfig: the one config struct for every architecture the studio trains.
// Serialised as JSON (our own config.json inside runs and checkpoints); the Hugging Face and
// state-spaces config.json layouts are read/written by checkpoint_io.h.
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace mts {

enum class Architecture {
    Mamba,        // Mamba-1 selective SSM language model
    Transformer,  // GPT-style pre-norm decoder
    Attention1,   // a single self-attention layer model (seed baseline)
    Linear,       // linear next-token model over a fixed context window (seed baseline)
    Moe,          // sparse mixture-of-experts Transformer: top-k routed expert MLPs
    Mamba2,       // Mamba-2 (state-space dual): scalar decay per head, chunked matrix-product training
};

std::string toString(Architecture a);           // "mamba", "transformer", "attention1", "linear", "moe", "mamba2"
Architecture architectureFromString(const std::string& s);  // throws ConfigError

struct ModelConfig {
    Architecture arch = Architecture::Mamba;
    int64_t dModel = 256;
    int64_t nLayer = 4;
    int64_t vocabSize = 257;        // tokenizer's vocabulary; the embedding is padded (below)
    int64_t padVocabMultiple = 8;
    double normEps = 1e-5;
    bool tieEmbeddings = true;
    double initStd = 0.02;          // embedding / linear init std

    // Mamba (and Mamba-2: dState, dConv, expand, convBias, projBias, dt_*; a JSON config with
    // arch "mamba2" and no d_state gets 128, mamba_ssm's Mamba-2 default)
    int64_t dState = 16;
    int64_t dConv = 4;
    int64_t expand = 2;
    int64_t dtRank = 0;             // 0 = "auto" = ceil(dModel / 16)
    bool convBias = true;
    bool projBias = false;          // bias on in_proj / out_proj
    double dtMin = 1e-3, dtMax = 0.1, dtInitFloor = 1e-4;
    double dtScale = 1.0;
    // Seed-experiment variants (default off).
    bool residualGate = false;      // learnable per-channel gate on the residual branch
    bool blockLayerNorm = false;    // LayerNorm on each block's output
    double dropout = 0.0;           // dropout on the mixer output (all architectures)
    bool gelu = false;              // GELU in place of SiLU in the mixer

    // Mamba-2: heads of headDim channels (H = dInner() / headDim), B and C shared by groups of
    // H / nGroups heads, the SSD's chunk length in training (any value; L need not be a multiple)
    int64_t headDim = 64;
    int64_t nGroups = 1;
    int64_t chunkSize = 256;

    // Transformer / Attention1
    int64_t nHead = 4;
    int64_t mlpRatio = 4;
    int64_t maxSeqLen = 1024;       // learned positions table size / RoPE cache
    std::string positions = "learned";  // "learned" | "rope"
    double ropeTheta = 10000.0;

    // Sparse MoE Transformer (attention, positions and heads as the Transformer's; each MLP is
    // nExperts expert MLPs of mlpRatio * dModel, each token routed to expertsPerToken of them)
    int64_t nExperts = 8;
    int64_t expertsPerToken = 2;    // the k of top-k routing, 1..nExperts
    double auxLossWeight = 0.01;    // weight of the load-balancing loss added to the training loss

    // Linear baseline
    int64_t context = 128;          // tokens of context the linear model sees

    int64_t dInner() const { return expand * dModel; }
    int64_t resolvedDtRank() const { return dtRank > 0 ? dtRank : (dModel + 15) / 16; }
    int64_t paddedVocab() const {
        return padVocabMultiple > 1 ? (vocabSize + padVocabMultiple - 1) / padVocabMultiple * padVocabMultiple
                                    : vocabSize;
    }

    /// Throws ConfigError naming the first bad key (non-positive sizes, nHead not dividing
    /// dModel, unknown positions kind, ...).
    void validate() const;

    nlohmann::json toJson() const;
    /// Missing keys keep their defaults; unknown keys and wrong types throw ConfigError.
    static ModelConfig fromJson(const nlohmann::json& j);
};

}  // namespace mts
