#pragma once
// The safetensors format (our own reader and writer): 8-byte little-endian header length N,
// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}},
// then the data buffer. Every bound is checked; any problem throws FormatError naming the file.
#include <filesystem>
#include <map>
#include <string>

#include <torch/torch.h>

namespace mts {

struct SafetensorsFile {
    std::map<std::string, torch::Tensor> tensors;        // CPU tensors, dtype as stored
    std::map<std::string, std::string> metadata;         // "__metadata__" (strings only)
};

/// Reads a whole .safetensors file. Supported dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
/// Rejects: truncated file, header length beyond the file, invalid JSON, unknown dtype,
/// shape/offset mismatch, offsets out of range, overlapping or unaccounted data ranges.
SafetensorsFile readSafetensors(const std::filesystem::path& file);

/// Writes tensors (made contiguous, moved to CPU) in name order; written to a temporary
/// file in the same folder, fsynced and renamed, so a crash never leaves a partial file.
void writeSafetensors(const std::filesystem::path& file,
                      const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace mts
