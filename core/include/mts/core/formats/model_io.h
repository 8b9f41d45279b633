#pragma once
// Loading and saving whole models: a folder in Hugging Face MambaForCausalLM or
// Mamba2ForCausalLM layout, the original state-spaces layout (Mamba1 or Mamba2 layers), a studio
// checkpoint, or a run folder (its latest checkpoint).
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mts/core/model/language_model.h"
#include "mts/core/tokenize/tokenizer.h"

namespace mts {

struct LoadedModel {
    LanguageModel model;                   // in eval() mode, on the requested device
    std::shared_ptr<Tokenizer> tokenizer;  // from the folder's tokenizer files; byte tokenizer if none
    std::filesystem::path dir;             // the model folder actually read
    std::string layout;                    // "hf", "state-spaces" or "studio"
    std::string storedDtype;               // "F32", "F16", "BF16" (as in the file)
};

/// Resolves what the user pointed at to a model folder (one holding config.json):
/// the folder itself; a run folder -> the checkpoint named in checkpoints/latest.txt, or the
/// highest checkpoints/step-XXXXXXXX. Throws FormatError when nothing loadable is there.
std::filesystem::path resolveModelDir(const std::filesystem::path& path);

/// Loads a model folder (see resolveModelDir). Weights of F16/BF16 are converted to fp32.
/// Any missing/extra key, wrong shape or malformed file -> FormatError naming file and problem.
LoadedModel loadModel(const std::filesystem::path& path, torch::Device device = torch::kCPU);

/// The tokenizer a path stands for, without reading any weights: a tokenizer.json file, a
/// folder holding tokenizer.json or vocab.json + merges.txt, or a model folder, checkpoint or
/// run folder (resolveModelDir) -> that model's tokenizer, the byte tokenizer when the model
/// folder has none (as loadModel does). Throws FormatError naming the path and the problem.
std::unique_ptr<Tokenizer> loadModelTokenizer(const std::filesystem::path& path);

/// Writes config.json (HF layout for Mamba and Mamba-2, plus "mts_config" with the full ModelConfig),
/// model.safetensors and tokenizer.json (when given) into dir (created if needed).
void saveModel(const std::filesystem::path& dir, LanguageModelImpl& model,
               const Tokenizer* tokenizer);

/// What a model folder holds, read from config.json and the safetensors headers only (cheap
/// for multi-GB checkpoints). Used by `info`. Throws like loadModel for malformed folders.
struct ModelInfo {
    std::filesystem::path dir;              // resolved model folder
    std::string layout;                     // "hf", "state-spaces" or "studio"
    std::string storedDtype;                // "F32", "F16", "BF16", or "mixed (F32, F16)"
    ModelConfig config;                     // vocab reconciled with the embedding rows
    int64_t numParameters = 0;              // stored tensors, a tied lm_head copy not counted
    int64_t weightBytes = 0;                // bytes of tensor data in the weight files
    std::vector<std::filesystem::path> weightFiles;
    std::string tokenizerSource;            // "tokenizer.json", "vocab.json + merges.txt" or "none (byte tokenizer)"
};
ModelInfo inspectModel(const std::filesystem::path& path);

/// Reads a folder's weights (model.safetensors, model.safetensors.index.json + shards, or
/// pytorch_model.bin where LibTorch can read it) as stored, keys as in the files. Each key's
/// file is recorded in `sources` when given. Throws FormatError naming the file.
std::map<std::string, torch::Tensor> readModelWeights(const std::filesystem::path& dir,
                                                      std::map<std::string, std::string>* sources = nullptr);

}  // namespace mts
