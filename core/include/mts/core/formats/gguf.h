#pragma once
// GGUF (version 3), the llama.cpp / ggml file format: our own writer and a bound-checked reader.
//
// Layout (all little-endian): "GGUF" u32 version, u64 tensor_count, u64 kv_count;
// kv_count x {string key, u32 value_type, value}; tensor_count x {string name, u32 n_dims,
// u64 ne[n_dims], u32 ggml_type, u64 offset}; padding to general.alignment (default 32);
// tensor data, each tensor at its offset (aligned) from the start of the data section.
// A string is u64 length + bytes (no terminator). ne[0] is the fastest-varying dimension, so a
// torch tensor of shape (a, b) is stored with ne = [b, a].
//
// Threading: plain functions and value types; no shared state.
// Failure: the reader throws FormatError(file, problem) for anything malformed or unsupported;
// the writer throws FormatError(file, reason) on I/O errors.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace mts::gguf {

enum class ValueType : uint32_t {
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
};
std::string toString(ValueType t);

/// ggml tensor types this code writes and reads (others are rejected by the reader).
/// Q8_0: ggml's block_q8_0, per 32 values along ne[0] (which must be a multiple of 32) one f16
/// scale d = max|x| / 127 then 32 int8 q = round(x / d): 34 bytes per block.
enum class TensorType : uint32_t { F32 = 0, F16 = 1, Q8_0 = 8 };

/// One metadata value. Integers are held in `i` (signed types) or `u` (unsigned), floats in
/// `f`, booleans in `b`, strings in `s`; arrays hold elements of `arrayType` in `array`.
struct Value {
    ValueType type = ValueType::UInt32;
    ValueType arrayType = ValueType::UInt8;
    uint64_t u = 0;
    int64_t i = 0;
    double f = 0.0;
    bool b = false;
    std::string s;
    std::vector<Value> array;

    static Value u32(uint32_t v);
    static Value i32(int32_t v);
    static Value u64(uint64_t v);
    static Value f32(float v);
    static Value boolean(bool v);
    static Value str(std::string v);
    static Value strArray(const std::vector<std::string>& v);
    static Value i32Array(const std::vector<int32_t>& v);
    static Value f32Array(const std::vector<float>& v);

    bool operator==(const Value& o) const;
    bool operator!=(const Value& o) const { return !(*this == o); }
};

struct TensorInfo {
    std::string name;
    std::vector<int64_t> ne;  // ggml order: ne[0] fastest
    TensorType type = TensorType::F32;
    uint64_t offset = 0;      // from the start of the data section
};

struct File {
    uint32_t version = 3;
    uint64_t alignment = 32;
    std::vector<std::pair<std::string, Value>> metadata;   // file order
    std::vector<TensorInfo> tensorInfos;                   // file order
    std::map<std::string, torch::Tensor> tensors;          // torch shape = reversed ne; float32 or float16
                                                           // (Q8_0 tensors: dequantized to float32)

    const Value* find(const std::string& key) const;
};

/// Reads a GGUF file (versions 2 and 3; tensor types F32, F16 and Q8_0). Checks every count,
/// length, offset and overlap against the file size before allocating; a Q8_0 tensor whose
/// ne[0] is not a multiple of 32 or with a non-finite block scale is refused (FormatError).
File readFile(const std::filesystem::path& file);
/// The same from bytes in memory; `name` is used in error messages.
File parse(const void* data, size_t size, const std::string& name);

/// Collects metadata and tensors, then writes them (temp file + fsync + rename).
class Writer {
public:
    /// Adds a key (order is kept). A repeated key throws std::invalid_argument.
    void set(const std::string& key, Value value);
    /// Adds a tensor in torch order (shape (a, b) is written as ne = [b, a]), converted to `type`.
    /// Q8_0 needs the last torch dimension to be a multiple of 32 (std::invalid_argument).
    void addTensor(const std::string& name, const torch::Tensor& tensor, TensorType type);
    void write(const std::filesystem::path& file, uint64_t alignment = 32) const;

private:
    std::vector<std::pair<std::string, Value>> m_metadata;
    std::vector<std::pair<std::string, torch::Tensor>> m_tensors;  // contiguous CPU, final dtype (Q8_0: bytes)
    std::vector<std::vector<int64_t>> m_shapes;                    // torch shapes
    std::vector<TensorType> m_types;
};

}  // namespace mts::gguf
