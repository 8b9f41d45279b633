// GGUF reader and writer. The reader trusts nothing: every count and length is compared with
// the bytes that remain before anything is allocated, so a hostile file cannot make us reserve
// more memory than its own size.
#include "mts/core/formats/gguf.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "mts/core/runtime/errors.h"
#include "runtime/fd_io.h"

namespace mts::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian u32
constexpr int kMaxArrayDepth = 4;
constexpr uint32_t kMaxDims = 4;         // GGML_MAX_DIMS

size_t scalarSize(ValueType t) {
    switch (t) {
        case ValueType::UInt8: case ValueType::Int8: case ValueType::Bool: return 1;
        case ValueType::UInt16: case ValueType::Int16: return 2;
        case ValueType::UInt32: case ValueType::Int32: case ValueType::Float32: return 4;
        case ValueType::UInt64: case ValueType::Int64: case ValueType::Float64: return 8;
        case ValueType::String: return 8;  // at least the length field
        case ValueType::Array: return 12;  // at least type + count
    }
    return 0;
}

bool validType(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::Float64); }

class Cursor {
public:
    Cursor(const unsigned char* data, size_t size, std::string name) : m_p(data), m_size(size), m_name(std::move(name)) {}

    size_t pos() const { return m_pos; }
    size_t remaining() const { return m_size - m_pos; }
    const std::string& name() const { return m_name; }

    [[noreturn]] void fail(const std::string& what) const {
        throw FormatError(m_name, fmt::format("{} (at byte {})", what, m_pos));
    }
    void need(size_t n, const char* what) const {
        if (n > remaining()) fail(fmt::format("truncated: {} needs {} bytes, {} left", what, n, remaining()));
    }
    template <class T>
    T read(const char* what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, m_p + m_pos, sizeof(T));
        m_pos += sizeof(T);
        return v;
    }
    std::string string(const char* what) {
        const uint64_t n = read<uint64_t>(what);
        if (n > remaining()) fail(fmt::format("truncated: {} of length {} but {} bytes left", what, n, remaining()));
        std::string s(reinterpret_cast<const char*>(m_p + m_pos), n);
        m_pos += n;
        return s;
    }

private:
    const unsigned char* m_p;
    size_t m_size;
    size_t m_pos = 0;
    std::string m_name;
};

Value readValue(Cursor& c, ValueType t, int depth) {
    Value v;
    v.type = t;
    switch (t) {
        case ValueType::UInt8: v.u = c.read<uint8_t>("u8 value"); break;
        case ValueType::Int8: v.i = c.read<int8_t>("i8 value"); break;
        case ValueType::UInt16: v.u = c.read<uint16_t>("u16 value"); break;
        case ValueType::Int16: v.i = c.read<int16_t>("i16 value"); break;
        case ValueType::UInt32: v.u = c.read<uint32_t>("u32 value"); break;
        case ValueType::Int32: v.i = c.read<int32_t>("i32 value"); break;
        case ValueType::UInt64: v.u = c.read<uint64_t>("u64 value"); break;
        case ValueType::Int64: v.i = c.read<int64_t>("i64 value"); break;
        case ValueType::Float32: v.f = c.read<float>("f32 value"); break;
        case ValueType::Float64: v.f = c.read<double>("f64 value"); break;
        case ValueType::Bool: {
            const uint8_t b = c.read<uint8_t>("bool value");
            if (b > 1) c.fail(fmt::format("bool value {} is not 0 or 1", b));
            v.b = b != 0;
            break;
        }
        case ValueType::String: v.s = c.string("string value"); break;
        case ValueType::Array: {
            if (depth >= kMaxArrayDepth) c.fail("arrays nested too deeply");
            const uint32_t et = c.read<uint32_t>("array element type");
            if (!validType(et)) c.fail(fmt::format("unknown array element type {}", et));
            v.arrayType = static_cast<ValueType>(et);
            const uint64_t n = c.read<uint64_t>("array length");
            if (n > c.remaining() / scalarSize(v.arrayType))
                c.fail(fmt::format("truncated: array of {} {} elements cannot fit in {} bytes", n, toString(v.arrayType), c.remaining()));
            v.array.reserve(n);
            for (uint64_t k = 0; k < n; ++k) v.array.push_back(readValue(c, v.arrayType, depth + 1));
            break;
        }
    }
    return v;
}

uint64_t alignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

size_t typeSize(TensorType t) { return t == TensorType::F16 ? 2 : 4; }

constexpr int64_t kQ8Block = 32, kQ8BlockBytes = 34;

// llama.cpp's quantize_row_q8_0_ref: rows of `cols` (a multiple of 32) fp32 values -> blocks.
torch::Tensor quantizeQ8_0(const torch::Tensor& t) {
    const torch::Tensor x = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const int64_t cols = x.size(-1), n = x.numel();
    torch::Tensor out = torch::empty({n / kQ8Block * kQ8BlockBytes}, torch::kUInt8);
    const float* src = x.data_ptr<float>();
    uint8_t* dst = out.data_ptr<uint8_t>();
    (void)cols;
    for (int64_t b = 0; b < n / kQ8Block; ++b) {
        const float* v = src + b * kQ8Block;
        float amax = 0.0f;
        for (int64_t j = 0; j < kQ8Block; ++j) amax = std::max(amax, std::fabs(v[j]));
        const float d = amax / 127.0f;
        const float id = d > 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = c10::Half(d).x;
        std::memcpy(dst + b * kQ8BlockBytes, &dh, 2);
        for (int64_t j = 0; j < kQ8Block; ++j)
            dst[b * kQ8BlockBytes + 2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::nearbyint(v[j] * id)));
    }
    return out;
}

using detail::writeAll;

class Buffer {
public:
    template <class T>
    void put(T v) {
        const auto* p = reinterpret_cast<const char*>(&v);
        m_bytes.append(p, sizeof(T));
    }
    void str(const std::string& s) {
        put<uint64_t>(s.size());
        m_bytes += s;
    }
    void value(const Value& v) {
        switch (v.type) {
            case ValueType::UInt8: put<uint8_t>(static_cast<uint8_t>(v.u)); break;
            case ValueType::Int8: put<int8_t>(static_cast<int8_t>(v.i)); break;
            case ValueType::UInt16: put<uint16_t>(static_cast<uint16_t>(v.u)); break;
            case ValueType::Int16: put<int16_t>(static_cast<int16_t>(v.i)); break;
            case ValueType::UInt32: put<uint32_t>(static_cast<uint32_t>(v.u)); break;
            case ValueType::Int32: put<int32_t>(static_cast<int32_t>(v.i)); break;
            case ValueType::UInt64: put<uint64_t>(v.u); break;
            case ValueType::Int64: put<int64_t>(v.i); break;
            case ValueType::Float32: put<float>(static_cast<float>(v.f)); break;
            case ValueType::Float64: put<double>(v.f); break;
            case ValueType::Bool: put<uint8_t>(v.b ? 1 : 0); break;
            case ValueType::String: str(v.s); break;
            case ValueType::Array:
                put<uint32_t>(static_cast<uint32_t>(v.arrayType));
                put<uint64_t>(v.array.size());
                for (const auto& e : v.array) {
                    if (e.type != v.arrayType) throw std::invalid_argument("gguf: array element of the wrong type");
                    value(e);
                }
                break;
        }
    }
    void padTo(uint64_t alignment) {
        while (m_bytes.size() % alignment != 0) m_bytes.push_back('\0');
    }
    const std::string& bytes() const { return m_bytes; }

private:
    std::string m_bytes;
};

}  // namespace

std::string toString(ValueType t) {
    switch (t) {
        case ValueType::UInt8: return "u8";
        case ValueType::Int8: return "i8";
        case ValueType::UInt16: return "u16";
        case ValueType::Int16: return "i16";
        case ValueType::UInt32: return "u32";
        case ValueType::Int32: return "i32";
        case ValueType::Float32: return "f32";
        case ValueType::Bool: return "bool";
        case ValueType::String: return "string";
        case ValueType::Array: return "array";
        case ValueType::UInt64: return "u64";
        case ValueType::Int64: return "i64";
        case ValueType::Float64: return "f64";
    }
    return "unknown";
}

Value Value::u32(uint32_t v) { Value x; x.type = ValueType::UInt32; x.u = v; return x; }
Value Value::i32(int32_t v) { Value x; x.type = ValueType::Int32; x.i = v; return x; }
Value Value::u64(uint64_t v) { Value x; x.type = ValueType::UInt64; x.u = v; return x; }
Value Value::f32(float v) { Value x; x.type = ValueType::Float32; x.f = v; return x; }
Value Value::boolean(bool v) { Value x; x.type = ValueType::Bool; x.b = v; return x; }
Value Value::str(std::string v) { Value x; x.type = ValueType::String; x.s = std::move(v); return x; }
Value Value::strArray(const std::vector<std::string>& v) {
    Value x;
    x.type = ValueType::Array;
    x.arrayType = ValueType::String;
    for (const auto& s : v) x.array.push_back(str(s));
    return x;
}
Value Value::i32Array(const std::vector<int32_t>& v) {
    Value x;
    x.type = ValueType::Array;
    x.arrayType = ValueType::Int32;
    for (int32_t e : v) x.array.push_back(i32(e));
    return x;
}
Value Value::f32Array(const std::vector<float>& v) {
    Value x;
    x.type = ValueType::Array;
    x.arrayType = ValueType::Float32;
    for (float e : v) x.array.push_back(f32(e));
    return x;
}

bool Value::operator==(const Value& o) const {
    if (type != o.type) return false;
    switch (type) {
        case ValueType::UInt8: case ValueType::UInt16: case ValueType::UInt32: case ValueType::UInt64: return u == o.u;
        case ValueType::Int8: case ValueType::Int16: case ValueType::Int32: case ValueType::Int64: return i == o.i;
        case ValueType::Float32: return static_cast<float>(f) == static_cast<float>(o.f);
        case ValueType::Float64: return f == o.f;
        case ValueType::Bool: return b == o.b;
        case ValueType::String: return s == o.s;
        case ValueType::Array: return arrayType == o.arrayType && array == o.array;
    }
    return false;
}

const Value* File::find(const std::string& key) const {
    for (const auto& [k, v] : metadata)
        if (k == key) return &v;
    return nullptr;
}

File parse(const void* data, size_t size, const std::string& name) {
    Cursor c(static_cast<const unsigned char*>(data), size, name);
    File f;
    if (c.read<uint32_t>("magic") != kMagic) c.fail("not a GGUF file (bad magic)");
    f.version = c.read<uint32_t>("version");
    if (f.version != 2 && f.version != 3) c.fail(fmt::format("unsupported GGUF version {} (2 or 3)", f.version));
    const uint64_t nTensors = c.read<uint64_t>("tensor count");
    const uint64_t nKv = c.read<uint64_t>("metadata count");
    // Each kv needs >= 8 (key length) + 4 (type) + 1 bytes, each tensor info >= 8 + 4 + 4 + 8.
    if (nKv > c.remaining() / 13) c.fail(fmt::format("metadata count {} cannot fit in the file", nKv));
    if (nTensors > c.remaining() / 24) c.fail(fmt::format("tensor count {} cannot fit in the file", nTensors));

    std::set<std::string> keys;
    for (uint64_t k = 0; k < nKv; ++k) {
        std::string key = c.string("metadata key");
        if (key.empty()) c.fail("empty metadata key");
        if (!keys.insert(key).second) c.fail(fmt::format("duplicate metadata key '{}'", key));
        const uint32_t t = c.read<uint32_t>("value type");
        if (!validType(t)) c.fail(fmt::format("metadata '{}': unknown value type {}", key, t));
        f.metadata.emplace_back(std::move(key), readValue(c, static_cast<ValueType>(t), 0));
    }
    if (const Value* a = f.find("general.alignment")) {
        if (a->type != ValueType::UInt32) c.fail("general.alignment must be a u32");
        if (a->u == 0 || (a->u & (a->u - 1)) != 0) c.fail(fmt::format("general.alignment {} is not a power of two", a->u));
        f.alignment = a->u;
    }

    std::set<std::string> names;
    for (uint64_t k = 0; k < nTensors; ++k) {
        TensorInfo ti;
        ti.name = c.string("tensor name");
        if (ti.name.empty()) c.fail("empty tensor name");
        if (!names.insert(ti.name).second) c.fail(fmt::format("duplicate tensor name '{}'", ti.name));
        const uint32_t nDims = c.read<uint32_t>("tensor dimension count");
        if (nDims == 0 || nDims > kMaxDims) c.fail(fmt::format("tensor '{}': {} dimensions (1 to 4 allowed)", ti.name, nDims));
        for (uint32_t d = 0; d < nDims; ++d) {
            const uint64_t ne = c.read<uint64_t>("tensor dimension");
            if (ne == 0 || ne > (uint64_t{1} << 40)) c.fail(fmt::format("tensor '{}': dimension {} out of range", ti.name, ne));
            ti.ne.push_back(static_cast<int64_t>(ne));
        }
        const uint32_t type = c.read<uint32_t>("tensor type");
        if (type > 1 && type != 8)
            c.fail(fmt::format("tensor '{}': ggml type {} is not supported (only F32, F16 and Q8_0)", ti.name, type));
        ti.type = static_cast<TensorType>(type);
        if (ti.type == TensorType::Q8_0 && ti.ne[0] % kQ8Block != 0)
            c.fail(fmt::format("tensor '{}': Q8_0 needs ne[0] to be a multiple of 32, got {}", ti.name, ti.ne[0]));
        ti.offset = c.read<uint64_t>("tensor offset");
        if (ti.offset % f.alignment != 0) c.fail(fmt::format("tensor '{}': offset {} is not aligned to {}", ti.name, ti.offset, f.alignment));
        f.tensorInfos.push_back(std::move(ti));
    }

    const uint64_t dataStart = alignUp(c.pos(), f.alignment);
    const uint64_t dataSize = size >= dataStart ? size - dataStart : 0;
    if (nTensors > 0 && size < dataStart) c.fail("truncated before the tensor data");
    // Bytes of each tensor, then ranges sorted to find overlaps.
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const auto& ti : f.tensorInfos) {
        const bool q8 = ti.type == TensorType::Q8_0;
        uint64_t n = q8 ? kQ8BlockBytes : typeSize(ti.type);
        for (size_t k = 0; k < ti.ne.size(); ++k) {
            const int64_t d = q8 && k == 0 ? ti.ne[0] / kQ8Block : ti.ne[k];
            if (n > dataSize / static_cast<uint64_t>(d)) {
                throw FormatError(name, fmt::format("tensor '{}': size exceeds the data section ({} bytes)", ti.name, dataSize));
            }
            n *= static_cast<uint64_t>(d);
        }
        if (ti.offset > dataSize || n > dataSize - ti.offset)
            throw FormatError(name, fmt::format("tensor '{}': bytes [{}, {}) beyond the data section ({} bytes; truncated?)",
                                                ti.name, ti.offset, ti.offset + n, dataSize));
        ranges.emplace_back(ti.offset, ti.offset + n);
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t k = 1; k < ranges.size(); ++k)
        if (ranges[k].first < ranges[k - 1].second)
            throw FormatError(name, fmt::format("tensor data ranges overlap at byte {}", ranges[k].first));

    const auto* bytes = static_cast<const unsigned char*>(data);
    for (const auto& ti : f.tensorInfos) {
        std::vector<int64_t> shape(ti.ne.rbegin(), ti.ne.rend());
        if (ti.type == TensorType::Q8_0) {
            auto t = torch::empty(shape, torch::kFloat32);
            float* out = t.data_ptr<float>();
            const unsigned char* src = bytes + dataStart + ti.offset;
            for (int64_t b = 0; b < t.numel() / kQ8Block; ++b) {
                uint16_t dh;
                std::memcpy(&dh, src + b * kQ8BlockBytes, 2);
                const float d = c10::Half(dh, c10::Half::from_bits());
                if (!std::isfinite(d))
                    throw FormatError(name, fmt::format("tensor '{}': Q8_0 block {} has a non-finite scale", ti.name, b));
                for (int64_t j = 0; j < kQ8Block; ++j)
                    out[b * kQ8Block + j] = d * static_cast<float>(static_cast<int8_t>(src[b * kQ8BlockBytes + 2 + j]));
            }
            f.tensors.emplace(ti.name, std::move(t));
            continue;
        }
        auto t = torch::empty(shape, ti.type == TensorType::F16 ? torch::kFloat16 : torch::kFloat32);
        std::memcpy(t.data_ptr(), bytes + dataStart + ti.offset, static_cast<size_t>(t.numel()) * t.element_size());
        f.tensors.emplace(ti.name, std::move(t));
    }
    return f;
}

File readFile(const std::filesystem::path& path) {
    const std::string file = path.string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) throw FormatError(file, "not a regular file (missing?)");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FormatError(file, "cannot open for reading");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw FormatError(file, "read error");
    return parse(bytes.data(), bytes.size(), file);
}

void Writer::set(const std::string& key, Value value) {
    for (const auto& kv : m_metadata)
        if (kv.first == key) throw std::invalid_argument("gguf: duplicate key " + key);
    m_metadata.emplace_back(key, std::move(value));
}

void Writer::addTensor(const std::string& name, const torch::Tensor& tensor, TensorType type) {
    if (tensor.dim() < 1 || tensor.dim() > static_cast<int64_t>(kMaxDims))
        throw std::invalid_argument(fmt::format("gguf: tensor '{}' must have 1 to 4 dimensions", name));
    if (type == TensorType::Q8_0 && tensor.size(-1) % kQ8Block != 0)
        throw std::invalid_argument(fmt::format("gguf: tensor '{}': Q8_0 needs the last dimension to be a multiple of 32, got {}",
                                                name, tensor.size(-1)));
    auto t = type == TensorType::Q8_0
                 ? quantizeQ8_0(tensor)
                 : tensor.detach().to(torch::kCPU).to(type == TensorType::F16 ? torch::kFloat16 : torch::kFloat32).contiguous();
    m_tensors.emplace_back(name, t);
    m_shapes.push_back(tensor.sizes().vec());
    m_types.push_back(type);
}

void Writer::write(const std::filesystem::path& path, uint64_t alignment) const {
    const std::string file = path.string();
    Buffer h;
    h.put<uint32_t>(kMagic);
    h.put<uint32_t>(3);
    h.put<uint64_t>(m_tensors.size());
    const bool customAlign = alignment != 32;
    h.put<uint64_t>(m_metadata.size() + (customAlign ? 1 : 0));
    for (const auto& [k, v] : m_metadata) {
        h.str(k);
        h.put<uint32_t>(static_cast<uint32_t>(v.type));
        h.value(v);
    }
    if (customAlign) {
        h.str("general.alignment");
        h.put<uint32_t>(static_cast<uint32_t>(ValueType::UInt32));
        h.put<uint32_t>(static_cast<uint32_t>(alignment));
    }
    uint64_t offset = 0;
    std::vector<uint64_t> offsets;
    for (size_t k = 0; k < m_tensors.size(); ++k) {
        const auto& [name, t] = m_tensors[k];
        const std::vector<int64_t>& shape = m_shapes[k];
        h.str(name);
        h.put<uint32_t>(static_cast<uint32_t>(shape.size()));
        for (auto d = shape.rbegin(); d != shape.rend(); ++d) h.put<uint64_t>(static_cast<uint64_t>(*d));
        h.put<uint32_t>(static_cast<uint32_t>(m_types[k]));
        h.put<uint64_t>(offset);
        offsets.push_back(offset);
        offset = alignUp(offset + static_cast<uint64_t>(t.numel()) * t.element_size(), alignment);
    }
    h.padTo(alignment);

    std::filesystem::path dir = path.parent_path();
    if (dir.empty()) dir = ".";
    const std::filesystem::path tmp = dir / (path.filename().string() + ".tmp." + std::to_string(::getpid()));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw FormatError(file, fmt::format("cannot create {}: {}", tmp.string(), std::strerror(errno)));
    try {
        writeAll(fd, h.bytes().data(), h.bytes().size(), file);
        uint64_t written = 0;
        static const char kZeros[64] = {};
        for (size_t k = 0; k < m_tensors.size(); ++k) {
            const auto& t = m_tensors[k].second;
            while (written < offsets[k]) {
                size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof(kZeros), offsets[k] - written));
                writeAll(fd, kZeros, n, file);
                written += n;
            }
            const size_t n = static_cast<size_t>(t.numel()) * t.element_size();
            writeAll(fd, t.data_ptr(), n, file);
            written += n;
        }
        if (::fsync(fd) != 0) throw FormatError(file, fmt::format("fsync failed: {}", std::strerror(errno)));
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw FormatError(file, fmt::format("cannot finish writing: {}", std::strerror(err)));
    }
}

}  // namespace mts::gguf
