#pragma once
// Predicts the peak memory of training a config before anything is allocated, so the GUI can
// say "fits / does not fit" next to the Train button.
//
//   peak = parameters (fp32 master) + gradients (fp32) + optimizer state
//        + activations kept for backward (all blocks, or one block + block inputs with
//          gradient checkpointing) + logits/loss workspace + autocast weight copies
//        + runtime overhead (LibTorch on the CPU, the CUDA context on a GPU)
//
// Activation sizes count the tensors each block saves for backward per token; the constants
// were checked against the peak RSS of real CPU runs (tests/core/slow, within 25%).
// Pure functions, thread-safe.
#include <cstdint>
#include <string>

#include "mts/core/model/model_config.h"
#include "mts/core/train/train_config.h"

namespace mts {

/// Parameters of a model of this config (tied embeddings counted once), computed from the
/// architecture's shapes without building it.
int64_t countParameters(const ModelConfig& config);

struct MemoryEstimate {
    int64_t parameters = 0;
    int64_t paramBytes = 0;
    int64_t gradBytes = 0;
    int64_t optimizerBytes = 0;
    int64_t activationBytes = 0;              // with the config's checkpointing choice
    int64_t activationBytesNoCheckpoint = 0;
    int64_t activationBytesCheckpoint = 0;
    int64_t workspaceBytes = 0;               // logits, loss, autocast copies
    int64_t runtimeBytes = 0;                 // LibTorch / CUDA context
    int64_t peakBytes = 0;
    int64_t budgetBytes = 0;                  // 0 = unknown
    bool fits = true;                         // peakBytes <= budgetBytes (true when unknown)

    /// "params 3.5M: weights 14 MB, grads 14 MB, optimizer 28 MB, activations 210 MB
    ///  (no checkpointing; 40 MB with), peak ~0.5 GB of 8 GB: fits".
    std::string summary() const;
};

/// Estimate for one micro-batch of `config` on a CPU (cuda = false) or a GPU. budgetBytes is
/// the memory available (e.g. memoryTierBytes(); 0 = unknown). Throws ConfigError for an
/// invalid model config.
MemoryEstimate estimateMemory(const TrainConfig& config, bool cuda, int64_t budgetBytes = 0);

}  // namespace mts
