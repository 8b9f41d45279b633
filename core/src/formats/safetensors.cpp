// Our own safetensors reader/writer. Every number taken from the file is checked before it is
// used as a size or offset; overflow is checked explicitly since the header is untrusted.
#include "mts/core/formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mts/core/runtime/errors.h"
#include "runtime/fd_io.h"
#include "runtime/json_file.h"

namespace mts {
namespace {

using nlohmann::json;

// The reference implementation refuses headers above 100 MB; a larger one is not a real model.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;

struct DtypeInfo {
    const char* name;
    torch::Dtype dtype;
    uint64_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},    {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* findDtype(const std::string& name) {
    for (const auto& d : kDtypes)
        if (name == d.name) return &d;
    return nullptr;
}

bool hostIsLittleEndian() {
    const uint16_t one = 1;
    uint8_t first;
    std::memcpy(&first, &one, 1);
    return first == 1;
}

uint64_t readLe64(const unsigned char* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

// Parses and validates the JSON header against a data buffer of dataSize bytes.
std::map<std::string, SafetensorsTensorInfo> parseHeader(const std::string& file,
                                                         const char* text, size_t len,
                                                         uint64_t dataSize,
                                                         std::map<std::string, std::string>* meta) {
    if (!hostIsLittleEndian()) throw FormatError(file, "big-endian hosts are not supported");
    // nlohmann silently keeps the last of duplicate keys; a duplicated tensor name would make
    // one tensor vanish, so duplicates at the top level are an error.
    std::set<std::string> seen;
    bool duplicate = false;
    std::string duplicateName;
    json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
        if (depth == 1 && event == json::parse_event_t::key) {
            const auto& k = parsed.get_ref<const std::string&>();
            if (!seen.insert(k).second && !duplicate) {
                duplicate = true;
                duplicateName = k;
            }
        }
        return true;
    };
    const json header = detail::parseJsonText(std::string_view(text, len), file, "header", cb);
    if (duplicate) throw FormatError(file, fmt::format("duplicate tensor name '{}' in header", duplicateName));
    if (!header.is_object()) throw FormatError(file, "header is not a JSON object");

    std::map<std::string, SafetensorsTensorInfo> out;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const json& v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object()) throw FormatError(file, "__metadata__ is not an object");
            for (auto m = v.begin(); m != v.end(); ++m) {
                if (!m.value().is_string())
                    throw FormatError(file, fmt::format("__metadata__ value '{}' is not a string", m.key()));
                if (meta) (*meta)[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        if (name.empty()) throw FormatError(file, "empty tensor name in header");
        if (!v.is_object()) throw FormatError(file, fmt::format("tensor '{}': entry is not an object", name));
        for (auto f = v.begin(); f != v.end(); ++f)
            if (f.key() != "dtype" && f.key() != "shape" && f.key() != "data_offsets")
                throw FormatError(file, fmt::format("tensor '{}': unknown field '{}'", name, f.key()));
        auto dt = v.find("dtype");
        auto sh = v.find("shape");
        auto off = v.find("data_offsets");
        if (dt == v.end() || !dt->is_string())
            throw FormatError(file, fmt::format("tensor '{}': missing or non-string dtype", name));
        if (sh == v.end() || !sh->is_array())
            throw FormatError(file, fmt::format("tensor '{}': missing or non-array shape", name));
        if (off == v.end() || !off->is_array() || off->size() != 2)
            throw FormatError(file, fmt::format("tensor '{}': data_offsets must be [begin, end]", name));
        SafetensorsTensorInfo info;
        info.dtype = dt->get<std::string>();
        const DtypeInfo* d = findDtype(info.dtype);
        if (!d) throw FormatError(file, fmt::format("tensor '{}': unknown dtype '{}'", name, info.dtype));
        uint64_t numel = 1;
        uint64_t strideProduct = 1;  // product of max(dim, 1): torch's strides must fit int64
        bool overflow = false;
        for (const auto& s : *sh) {
            if (!s.is_number_unsigned())
                throw FormatError(file, fmt::format("tensor '{}': shape entries must be non-negative integers", name));
            uint64_t dim = s.get<uint64_t>();
            if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                throw FormatError(file, fmt::format("tensor '{}': dimension {} too large", name, dim));
            info.shape.push_back(static_cast<int64_t>(dim));
            const uint64_t nz = std::max<uint64_t>(dim, 1);
            if (strideProduct > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / nz) overflow = true;
            else strideProduct *= nz;
            numel *= dim;
        }
        if (info.shape.size() > 16) throw FormatError(file, fmt::format("tensor '{}': more than 16 dimensions", name));
        if (overflow || (numel != 0 && numel > std::numeric_limits<uint64_t>::max() / d->size))
            throw FormatError(file, fmt::format("tensor '{}': shape is too large", name));
        for (const auto& o : *off)
            if (!o.is_number_unsigned())
                throw FormatError(file, fmt::format("tensor '{}': data_offsets must be non-negative integers", name));
        info.begin = (*off)[0].get<uint64_t>();
        info.end = (*off)[1].get<uint64_t>();
        if (info.begin > info.end)
            throw FormatError(file, fmt::format("tensor '{}': data_offsets begin {} > end {}", name, info.begin, info.end));
        if (info.end > dataSize)
            throw FormatError(file, fmt::format("tensor '{}': data_offsets [{}, {}] beyond the data buffer ({} bytes; file truncated?)",
                                                name, info.begin, info.end, dataSize));
        if (info.end - info.begin != numel * d->size)
            throw FormatError(file, fmt::format("tensor '{}': shape and dtype need {} bytes but data_offsets span {}",
                                                name, numel * d->size, info.end - info.begin));
        out.emplace(name, std::move(info));
    }

    // The ranges must tile the buffer exactly: no overlap (two tensors sharing bytes), no gap
    // (bytes no tensor accounts for) and nothing after the last tensor.
    std::vector<std::pair<const std::string*, const SafetensorsTensorInfo*>> ranges;
    for (const auto& [n, info] : out) ranges.emplace_back(&n, &info);
    std::sort(ranges.begin(), ranges.end(), [](const auto& a, const auto& b) {
        return std::make_pair(a.second->begin, a.second->end) < std::make_pair(b.second->begin, b.second->end);
    });
    uint64_t cursor = 0;
    const std::string* prev = nullptr;
    for (const auto& [n, info] : ranges) {
        if (info->begin < cursor)
            throw FormatError(file, fmt::format("tensors '{}' and '{}' overlap in the data buffer", prev ? *prev : "", *n));
        if (info->begin > cursor)
            throw FormatError(file, fmt::format("data bytes [{}, {}) are not covered by any tensor", cursor, info->begin));
        cursor = info->end;
        if (info->end > info->begin) prev = n;
    }
    if (cursor != dataSize)
        throw FormatError(file, fmt::format("data bytes [{}, {}) are not covered by any tensor", cursor, dataSize));
    return out;
}

void checkBool(const std::string& file, const std::string& name, const torch::Tensor& t) {
    const auto* p = static_cast<const uint8_t*>(t.data_ptr());
    for (int64_t i = 0; i < t.numel(); ++i)
        if (p[i] > 1) throw FormatError(file, fmt::format("tensor '{}': BOOL value {} is not 0 or 1", name, p[i]));
}

torch::Tensor emptyFor(const SafetensorsTensorInfo& info) {
    return torch::empty(info.shape, torch::TensorOptions().dtype(findDtype(info.dtype)->dtype));
}

struct OpenFile {
    std::ifstream in;
    uint64_t fileSize = 0;
    uint64_t headerLen = 0;
    std::string header;
};

OpenFile openAndReadHeader(const std::filesystem::path& path) {
    const std::string file = path.string();
    OpenFile f;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) throw FormatError(file, "not a regular file (missing?)");
    f.fileSize = std::filesystem::file_size(path, ec);
    if (ec) throw FormatError(file, "cannot read file size: " + ec.message());
    f.in.open(path, std::ios::binary);
    if (!f.in) throw FormatError(file, "cannot open for reading");
    if (f.fileSize < 8) throw FormatError(file, fmt::format("truncated: {} bytes, less than the 8-byte header length", f.fileSize));
    unsigned char lenBytes[8];
    if (!f.in.read(reinterpret_cast<char*>(lenBytes), 8)) throw FormatError(file, "read error in header length");
    f.headerLen = readLe64(lenBytes);
    if (f.headerLen > f.fileSize - 8)
        throw FormatError(file, fmt::format("header length {} is beyond the end of the file ({} bytes; truncated?)", f.headerLen, f.fileSize));
    if (f.headerLen > kMaxHeaderBytes) throw FormatError(file, fmt::format("header length {} exceeds 100 MB", f.headerLen));
    f.header.resize(f.headerLen);
    if (!f.in.read(f.header.data(), static_cast<std::streamsize>(f.headerLen))) throw FormatError(file, "read error in header");
    return f;
}

}  // namespace

std::string safetensorsDtypeName(torch::Dtype dtype, const std::string& file) {
    for (const auto& d : kDtypes)
        if (d.dtype == dtype) return d.name;
    throw FormatError(file, fmt::format("dtype {} cannot be stored in safetensors", c10::toString(dtype)));
}

std::map<std::string, SafetensorsTensorInfo> readSafetensorsHeader(
    const std::filesystem::path& path, std::map<std::string, std::string>* metadata) {
    OpenFile f = openAndReadHeader(path);
    return parseHeader(path.string(), f.header.data(), f.header.size(), f.fileSize - 8 - f.headerLen, metadata);
}

SafetensorsFile readSafetensors(const std::filesystem::path& path) {
    const std::string file = path.string();
    OpenFile f = openAndReadHeader(path);
    SafetensorsFile out;
    const uint64_t dataStart = 8 + f.headerLen;
    auto infos = parseHeader(file, f.header.data(), f.header.size(), f.fileSize - dataStart, &out.metadata);
    for (const auto& [name, info] : infos) {
        torch::Tensor t = emptyFor(info);
        const uint64_t n = info.end - info.begin;
        if (n > 0) {
            f.in.seekg(static_cast<std::streamoff>(dataStart + info.begin));
            if (!f.in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(n)))
                throw FormatError(file, fmt::format("tensor '{}': read error (file changed or truncated?)", name));
        }
        if (t.scalar_type() == torch::kBool) checkBool(file, name, t);
        out.tensors.emplace(name, std::move(t));
    }
    return out;
}

SafetensorsFile parseSafetensors(const void* data, size_t size, const std::string& name) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    if (size < 8) throw FormatError(name, fmt::format("truncated: {} bytes, less than the 8-byte header length", size));
    const uint64_t headerLen = readLe64(bytes);
    if (headerLen > size - 8)
        throw FormatError(name, fmt::format("header length {} is beyond the end of the file ({} bytes; truncated?)", headerLen, size));
    if (headerLen > kMaxHeaderBytes) throw FormatError(name, fmt::format("header length {} exceeds 100 MB", headerLen));
    SafetensorsFile out;
    const uint64_t dataStart = 8 + headerLen;
    auto infos = parseHeader(name, reinterpret_cast<const char*>(bytes + 8), headerLen, size - dataStart, &out.metadata);
    for (const auto& [tname, info] : infos) {
        torch::Tensor t = emptyFor(info);
        if (info.end > info.begin) std::memcpy(t.data_ptr(), bytes + dataStart + info.begin, info.end - info.begin);
        if (t.scalar_type() == torch::kBool) checkBool(name, tname, t);
        out.tensors.emplace(tname, std::move(t));
    }
    return out;
}

namespace {

using detail::writeAll;

}  // namespace

void writeSafetensors(const std::filesystem::path& path,
                      const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    const std::string file = path.string();
    if (!hostIsLittleEndian()) throw FormatError(file, "big-endian hosts are not supported");
    std::vector<torch::Tensor> data;
    json header = json::object();
    if (!metadata.empty()) {
        json m = json::object();
        for (const auto& [k, v] : metadata) m[k] = v;
        header["__metadata__"] = m;
    }
    uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        if (name.empty() || name == "__metadata__") throw FormatError(file, fmt::format("invalid tensor name '{}'", name));
        if (!tensor.defined()) throw FormatError(file, fmt::format("tensor '{}' is undefined", name));
        torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
        const std::string dt = safetensorsDtypeName(t.scalar_type(), file);
        const uint64_t n = static_cast<uint64_t>(t.numel()) * t.element_size();
        header[name] = {{"dtype", dt}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + n}}};
        offset += n;
        data.push_back(std::move(t));
    }
    std::string text = header.dump();
    // Pad with spaces so the data buffer starts 8-byte aligned (what the reference writer does).
    while ((text.size() % 8) != 0) text.push_back(' ');

    std::filesystem::path dir = path.parent_path();
    if (dir.empty()) dir = ".";
    const std::filesystem::path tmp = dir / (path.filename().string() + ".tmp." + std::to_string(::getpid()));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw FormatError(file, fmt::format("cannot create {}: {}", tmp.string(), std::strerror(errno)));
    try {
        unsigned char lenBytes[8];
        uint64_t len = text.size();
        for (int i = 0; i < 8; ++i) lenBytes[i] = static_cast<unsigned char>((len >> (8 * i)) & 0xff);
        writeAll(fd, lenBytes, 8, file);
        writeAll(fd, text.data(), text.size(), file);
        for (const auto& t : data)
            if (t.numel() > 0) writeAll(fd, t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size(), file);
        if (::fsync(fd) != 0) throw FormatError(file, fmt::format("fsync failed: {}", std::strerror(errno)));
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    if (::close(fd) != 0) {
        ::unlink(tmp.c_str());
        throw FormatError(file, fmt::format("close failed: {}", std::strerror(errno)));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw FormatError(file, fmt::format("rename failed: {}", std::strerror(err)));
    }
    // Make the rename itself durable.
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) throw FormatError(file, fmt::format("cannot open its folder to sync the rename: {}", std::strerror(errno)));
    const int rc = ::fsync(dfd);
    const int err = errno;
    ::close(dfd);
    if (rc != 0) throw FormatError(file, fmt::format("fsync of its folder failed: {}", std::strerror(err)));
}

}  // namespace mts
