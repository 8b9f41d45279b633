// TokenFile (memory-mapped reader) and TokenFileWriter (streaming writer).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mts/core/corpus/corpus.h"
#include "mts/core/runtime/errors.h"

namespace mts {

namespace {
template <typename T>
T readLe(const uint8_t* p) {
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(p[i]) << (8 * i);
    return v;
}
template <typename T>
void writeLe(uint8_t* p, T v) {
    for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
std::string sysError() { return std::strerror(errno); }
}  // namespace

TokenFile::TokenFile(const std::filesystem::path& path) : m_path(path) {
    const std::string file = path.string();
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw FormatError(file, "cannot open: " + sysError());
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const std::string err = sysError();
        ::close(fd);
        throw FormatError(file, "cannot stat: " + err);
    }
    const auto bytes = static_cast<uint64_t>(st.st_size);
    if (bytes < kTokenFileHeaderBytes) {
        ::close(fd);
        throw FormatError(file, "too short for a token file header (" + std::to_string(bytes) + " bytes)");
    }
    void* map = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) throw FormatError(file, "cannot map: " + sysError());
    const auto* base = static_cast<const uint8_t*>(map);
    auto fail = [&](const std::string& problem) {
        ::munmap(map, bytes);
        throw FormatError(file, problem);
    };
    if (std::memcmp(base, kTokenFileMagic, sizeof kTokenFileMagic) != 0) fail("bad magic (not an MTSTOK token file)");
    const auto version = readLe<uint32_t>(base + 8);
    if (version != kTokenFileVersion) fail("unsupported version " + std::to_string(version));
    const auto dtype = readLe<uint32_t>(base + 12);
    if (dtype != 2 && dtype != 4) fail("unsupported dtype size " + std::to_string(dtype));
    const auto count = readLe<uint64_t>(base + 16);
    if (count > (bytes - kTokenFileHeaderBytes) / dtype ||
        kTokenFileHeaderBytes + count * dtype != bytes)
        fail("size " + std::to_string(bytes) + " bytes does not match the header's " + std::to_string(count) +
             " tokens of " + std::to_string(dtype) + " bytes (truncated or unfinished?)");
    m_map = map;
    m_mapBytes = bytes;
    m_data = base + kTokenFileHeaderBytes;
    m_count = count;
    m_dtypeBytes = dtype;
}

TokenFile::~TokenFile() {
    if (m_map) ::munmap(m_map, m_mapBytes);
}

TokenFile::TokenFile(TokenFile&& other) noexcept { *this = std::move(other); }

TokenFile& TokenFile::operator=(TokenFile&& other) noexcept {
    if (this != &other) {
        if (m_map) ::munmap(m_map, m_mapBytes);
        m_path = std::move(other.m_path);
        m_data = other.m_data;
        m_map = other.m_map;
        m_mapBytes = other.m_mapBytes;
        m_count = other.m_count;
        m_dtypeBytes = other.m_dtypeBytes;
        other.m_data = nullptr;
        other.m_map = nullptr;
        other.m_mapBytes = 0;
        other.m_count = 0;
        other.m_path.clear();
    }
    return *this;
}

uint32_t TokenFile::at(uint64_t i) const {
    if (i >= m_count) throw std::out_of_range(m_path.string() + ": token index " + std::to_string(i) + " out of range");
    return m_dtypeBytes == 2 ? readLe<uint16_t>(m_data + i * 2) : readLe<uint32_t>(m_data + i * 4);
}

void TokenFile::read(uint64_t start, uint64_t n, int64_t* out) const {
    if (start > m_count || n > m_count - start)
        throw std::out_of_range(m_path.string() + ": token range out of bounds");
    if (m_dtypeBytes == 2) {
        const uint8_t* p = m_data + start * 2;
        for (uint64_t k = 0; k < n; ++k) out[k] = readLe<uint16_t>(p + k * 2);
    } else {
        const uint8_t* p = m_data + start * 4;
        for (uint64_t k = 0; k < n; ++k) out[k] = readLe<uint32_t>(p + k * 4);
    }
}

TokenFileWriter::TokenFileWriter(const std::filesystem::path& path, uint32_t dtypeBytes)
    : m_path(path), m_dtypeBytes(dtypeBytes) {
    if (dtypeBytes != 2 && dtypeBytes != 4)
        throw std::invalid_argument("TokenFileWriter: dtypeBytes must be 2 or 4");
    FILE* f = std::fopen(path.string().c_str(), "w+b");
    if (!f) throw std::runtime_error(path.string() + ": cannot create: " + sysError());
    m_file = f;
    uint8_t header[kTokenFileHeaderBytes] = {};  // count 0 until finish(): an unfinished file fails to open
    if (std::fwrite(header, 1, sizeof header, f) != sizeof header) {
        close();
        throw std::runtime_error(path.string() + ": write failed: " + sysError());
    }
}

TokenFileWriter::~TokenFileWriter() { close(); }

void TokenFileWriter::close() {
    if (m_file) std::fclose(static_cast<FILE*>(m_file));
    m_file = nullptr;
}

void TokenFileWriter::append(const std::vector<int32_t>& ids) { append(ids.data(), ids.size()); }

void TokenFileWriter::append(const int32_t* ids, size_t n) {
    if (!m_file) throw std::runtime_error(m_path.string() + ": append after close");
    const uint64_t limit = m_dtypeBytes == 2 ? 0xFFFFu : 0xFFFFFFFFu;
    std::vector<uint8_t> buf(n * m_dtypeBytes);
    for (size_t k = 0; k < n; ++k) {
        if (ids[k] < 0 || static_cast<uint64_t>(ids[k]) > limit)
            throw std::runtime_error(m_path.string() + ": token id " + std::to_string(ids[k]) + " does not fit " +
                                     std::to_string(m_dtypeBytes * 8) + " bits");
        if (m_dtypeBytes == 2) writeLe<uint16_t>(buf.data() + k * 2, static_cast<uint16_t>(ids[k]));
        else writeLe<uint32_t>(buf.data() + k * 4, static_cast<uint32_t>(ids[k]));
    }
    if (n && std::fwrite(buf.data(), 1, buf.size(), static_cast<FILE*>(m_file)) != buf.size())
        throw std::runtime_error(m_path.string() + ": write failed (disk full?): " + sysError());
    m_count += n;
}

std::vector<int32_t> TokenFileWriter::readBack(uint64_t start, uint64_t n) {
    if (!m_file) throw std::runtime_error(m_path.string() + ": read after close");
    if (start > m_count || n > m_count - start) throw std::out_of_range(m_path.string() + ": readBack out of range");
    auto* f = static_cast<FILE*>(m_file);
    if (std::fflush(f) != 0) throw std::runtime_error(m_path.string() + ": flush failed: " + sysError());
    std::vector<uint8_t> buf(n * m_dtypeBytes);
    const off_t offset = static_cast<off_t>(kTokenFileHeaderBytes + start * m_dtypeBytes);
    size_t done = 0;
    while (done < buf.size()) {
        const ssize_t r = ::pread(fileno(f), buf.data() + done, buf.size() - done, offset + static_cast<off_t>(done));
        if (r <= 0) throw std::runtime_error(m_path.string() + ": read back failed: " + sysError());
        done += static_cast<size_t>(r);
    }
    std::vector<int32_t> ids(n);
    for (uint64_t k = 0; k < n; ++k)
        ids[k] = m_dtypeBytes == 2 ? readLe<uint16_t>(buf.data() + k * 2)
                                   : static_cast<int32_t>(readLe<uint32_t>(buf.data() + k * 4));
    return ids;
}

void TokenFileWriter::truncate(uint64_t newCount) {
    if (!m_file) throw std::runtime_error(m_path.string() + ": truncate after close");
    if (newCount > m_count) throw std::out_of_range(m_path.string() + ": truncate beyond the end");
    auto* f = static_cast<FILE*>(m_file);
    const off_t bytes = static_cast<off_t>(kTokenFileHeaderBytes + newCount * m_dtypeBytes);
    if (std::fflush(f) != 0 || ::ftruncate(fileno(f), bytes) != 0 || std::fseek(f, 0, SEEK_END) != 0)
        throw std::runtime_error(m_path.string() + ": truncate failed: " + sysError());
    m_count = newCount;
}

void TokenFileWriter::finish() {
    if (!m_file) throw std::runtime_error(m_path.string() + ": finish after close");
    auto* f = static_cast<FILE*>(m_file);
    uint8_t header[kTokenFileHeaderBytes] = {};
    std::memcpy(header, kTokenFileMagic, sizeof kTokenFileMagic);
    writeLe<uint32_t>(header + 8, kTokenFileVersion);
    writeLe<uint32_t>(header + 12, m_dtypeBytes);
    writeLe<uint64_t>(header + 16, m_count);
    const bool ok = std::fflush(f) == 0 && std::fseek(f, 0, SEEK_SET) == 0 &&
                    std::fwrite(header, 1, sizeof header, f) == sizeof header && std::fflush(f) == 0 &&
                    ::fsync(fileno(f)) == 0;
    const std::string err = ok ? std::string() : sysError();
    const bool closed = std::fclose(f) == 0;
    m_file = nullptr;
    if (!ok || !closed) throw std::runtime_error(m_path.string() + ": finishing failed: " + err);
}

}  // namespace mts
