#pragma once
// The safetensors format (our own reader and writer): 8-byte little-endian header length N,
// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}},
// then the data buffer. Every bound is checked; any problem throws FormatError naming the file.
#include <filesystem>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

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

/// One tensor's header entry (without its data).
struct SafetensorsTensorInfo {
    std::string dtype;            // "F32", "BF16", ...
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;  // byte range inside the data buffer
};

/// Reads and validates only the header (every check of readSafetensors except the BOOL
/// value check). Cheap for large files: used by `info` and sharded loading.
std::map<std::string, SafetensorsTensorInfo> readSafetensorsHeader(
    const std::filesystem::path& file, std::map<std::string, std::string>* metadata = nullptr);

/// Same as readSafetensors, from bytes in memory; `name` is used in error messages.
SafetensorsFile parseSafetensors(const void* data, size_t size, const std::string& name);

/// The safetensors dtype name of a torch dtype; throws FormatError(file) when unsupported.
std::string safetensorsDtypeName(torch::Dtype dtype, const std::string& file = {});

}  // namespace mts
