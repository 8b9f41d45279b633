#pragma once
// Loading and saving whole models: a folder in Hugging Face MambaForCausalLM layout, the
// original state-spaces layout, a studio checkpoint, or a run folder (its latest checkpoint).
#include <filesystem>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "mts/core/language_model.h"
#include "mts/core/tokenizer.h"

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

/// Writes config.json (HF layout for Mamba, plus "mts_config" with the full ModelConfig),
/// model.safetensors and tokenizer.json (when given) into dir (created if needed).
void saveModel(const std::filesystem::path& dir, LanguageModelImpl& model,
               const Tokenizer* tokenizer);

}  // namespace mts
