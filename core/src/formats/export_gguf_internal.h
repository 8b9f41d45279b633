#pragma once
// Shared by the GGUF exporters (export_gguf.cpp: llama.cpp "mamba"; export_gguf_mamba2.cpp:
// "mamba2"): the embedded vocabulary, the general.* keys and the tensor type of large matrices.
// Not a public header.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mts/core/formats/export.h"
#include "mts/core/formats/gguf.h"
#include "mts/core/model/model_config.h"
#include "mts/core/tokenize/tokenizer.h"

namespace mts::detail {

/// The tokenizer as llama.cpp's "gpt2" vocabulary (tokens, token types, merges), padded to
/// `rows` with [PADn] tokens of type UNUSED. Throws ConfigError for a word-level tokenizer or
/// an id outside `rows`.
struct GgufVocab {
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    std::vector<std::string> merges;
};
GgufVocab ggufVocab(const Tokenizer& tokenizer, int64_t rows);

/// general.architecture / name (the file's stem) / file_type / quantization_version.
void setGgufGeneral(gguf::Writer& w, const std::string& arch, const std::filesystem::path& outFile, ExportDtype dtype);

/// tokenizer.ggml.* keys from `vocab`; bos, eos and padding are the tokenizer's eos id.
void setGgufTokenizer(gguf::Writer& w, const GgufVocab& vocab, const Tokenizer& tokenizer);

/// The GGUF type of a large matrix (embedding, in/out projections, head) for an export dtype:
/// F32, F16, or Q8_0 when the row length (last torch dimension) is a multiple of 32, else F16
/// with a warning appended to `warnings`.
class GgufBigType {
public:
    GgufBigType(ExportDtype dtype, std::vector<std::string>& warnings) : m_dtype(dtype), m_warnings(warnings) {}
    gguf::TensorType operator()(const torch::Tensor& t, const std::string& name) const;

private:
    ExportDtype m_dtype;
    std::vector<std::string>& m_warnings;
};

/// The GGUF file for llama.cpp's "mamba2" architecture from a Mamba-2 config and its parameters
/// by name (our names = transformers' Mamba2ForCausalLM names, any device and float dtype).
/// Throws ConfigError when config is not Mamba-2, a parameter is missing or misshapen, or the
/// model has what llama.cpp's mamba2 cannot run (in/out projection biases); FormatError on I/O.
ExportResult exportGgufMamba2(const ModelConfig& config, const std::map<std::string, torch::Tensor>& params,
                              const Tokenizer& tokenizer, const std::filesystem::path& outFile, ExportDtype dtype);

}  // namespace mts::detail
