#pragma once

// Pieces of the trainer shared by trainer.cpp and trainer_steps.cpp (not a public header).
#include <atomic>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "mts/core/corpus/data_loader.h"
#include "mts/core/model/language_model.h"
#include "mts/core/tokenize/tokenizer.h"
#include "mts/core/train/optimizers.h"
#include "mts/core/train/train_config.h"

namespace mts::detail {

/// Mean next-token cross-entropy (nats/token, fp32 scalar) of windows (B, L + 1) int64 on CPU,
/// under autocast when precision is not fp32. Differentiable.
torch::Tensor windowLoss(LanguageModelImpl& model, const torch::Tensor& windows, const torch::Device& device,
                         Precision precision);

/// Mean validation loss over `batches` evaluation batches (eval mode, no grad; mode restored).
/// `cancel` (may be null) is read between batches: once true the evaluation stops and returns
/// NaN (a closing window or a Cancel click never waits out a long evaluation).
double evaluateLoss(LanguageModelImpl& model, const TokenStream& val, int64_t batches, int64_t rows, int64_t seqLen,
                    const torch::Device& device, Precision precision, const std::atomic<bool>* cancel = nullptr);

/// A sampled continuation of `prompt` (model mode restored). Empty prompt -> starts from EOS.
std::string sampleText(LanguageModelImpl& model, const Tokenizer& tokenizer, const std::string& prompt,
                       int64_t tokens, double temperature, uint64_t seed);

/// The optimizer of the config for the model's parameters; `summary` describes the groups.
std::unique_ptr<Optimizer> buildOptimizer(LanguageModelImpl& model, const TrainConfig& config, std::string& summary);

}  // namespace mts::detail
