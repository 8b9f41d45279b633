#pragma once
// Exporting a studio model to other tools:
//   Hugging Face: Mamba -> MambaForCausalLM folder; Mamba-2 -> Mamba2ForCausalLM folder;
//                 Transformer -> GPT2LMHeadModel folder (config.json, model.safetensors,
//                 tokenizer.json, tokenizer_config.json, generation_config.json), loadable with
//                 transformers' from_pretrained (and by loadModel, bit-exact in f32).
//   GGUF:         one file for llama.cpp's "mamba" or "mamba2" architecture, tokenizer embedded.
//
// Usage:
//   auto lm = mts::loadModel(dir);
//   mts::exportHuggingFace(*lm.model, *lm.tokenizer, "out-hf", mts::ExportDtype::F32);
//   mts::exportGguf(*lm.model, *lm.tokenizer, "model.gguf", mts::ExportDtype::F16);
//
// Threading: reads the model's parameters; call from the thread that owns the model.
// Failure: ConfigError when the model cannot be expressed in the target format (a seed
// variant, rotary positions for GPT-2, a word tokenizer for GGUF), FormatError on I/O errors.
// Files are written whole (temp file + rename); a failed export may leave some files of the
// folder written.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mts/core/model/language_model.h"
#include "mts/core/tokenize/tokenizer.h"

namespace mts {

enum class ExportDtype { F32, F16, Q8_0 };
/// "f32" | "f16" | "q8_0" (case-insensitive); throws ConfigError otherwise. Q8_0 is GGUF only.
ExportDtype exportDtypeFromString(const std::string& s);

struct ExportResult {
    std::vector<std::filesystem::path> files;  // what was written
    std::vector<std::string> warnings;
};

/// Writes a Hugging Face model folder (created if needed). F16 stores the weights as float16.
ExportResult exportHuggingFace(LanguageModelImpl& model, const Tokenizer& tokenizer,
                               const std::filesystem::path& outDir, ExportDtype dtype);

/// Writes a GGUF v3 file for llama.cpp's Mamba architecture ("mamba"; "mamba2" for a Mamba-2
/// model: its A as -exp(A_log) and D shaped {1, H}, the gated norm's weight {d_inner/G, G}).
/// With F16 the large matrices
/// (token_embd, ssm_in, ssm_out, output) are float16; norms, conv, x/dt projections, A and D
/// stay float32 as llama.cpp's SSM operators require. With Q8_0 those large matrices are
/// llama.cpp's 8-bit blocks (file type MOSTLY_Q8_0) when their row length is a multiple of 32,
/// else float16 (a warning says which).
ExportResult exportGguf(LanguageModelImpl& model, const Tokenizer& tokenizer,
                        const std::filesystem::path& outFile, ExportDtype dtype);

/// The tokenizer as a Hugging Face tokenizer.json document: BPE and word tokenizers as they
/// save themselves; the byte tokenizer as an equivalent byte-level BPE without merges
/// (ids 0-255 are the bytes, 256 is <|endoftext|>).
nlohmann::json hfTokenizerJson(const Tokenizer& tokenizer);

/// GPT-2's byte -> printable character table, as UTF-8 strings (index = byte value).
const std::vector<std::string>& byteToUnicode();

}  // namespace mts
