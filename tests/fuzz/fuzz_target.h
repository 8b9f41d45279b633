#pragma once
// One source per fuzz target, two builds:
//   - the "fuzz" preset: MTS_FUZZ_TARGET(name) is libFuzzer's LLVMFuzzerTestOneInput and a
//     failed MTS_FUZZ_CHECK aborts (a finding);
//   - the normal build (MTS_FUZZ_REPLAY): it is a plain function mtsFuzz_<name> that the unit
//     tests call on every file of tests/fuzz/corpus/<name>/ (seeds and past findings), and a
//     failed check throws std::logic_error naming the check.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#ifdef MTS_FUZZ_REPLAY
#define MTS_FUZZ_TARGET(name) int mtsFuzz_##name(const uint8_t* data, size_t size)
#else
#define MTS_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
#endif

#define MTS_FUZZ_CHECK(cond) ::mts::fuzz::check((cond), #cond, __FILE__, __LINE__)

namespace mts::fuzz {

inline void check(bool ok, const char* what, const char* file, int line) {
    if (ok) return;
#ifdef MTS_FUZZ_REPLAY
    throw std::logic_error(std::string(file) + ":" + std::to_string(line) + ": " + what);
#else
    std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    std::abort();
#endif
}

/// Splits fuzz input into typed values; reading past the end gives zeros / empty strings.
class Bytes {
public:
    Bytes(const uint8_t* data, size_t size) : m_data(data), m_size(size) {}
    bool empty() const { return m_at >= m_size; }
    size_t left() const { return m_size - m_at; }
    uint8_t byte() { return m_at < m_size ? m_data[m_at++] : 0; }
    uint16_t u16() { return static_cast<uint16_t>(byte() | (byte() << 8)); }
    /// Up to `max` bytes (the length comes from the input).
    std::string_view text(size_t max) {
        size_t n = std::min<size_t>(byte(), max);
        n = std::min(n, left());
        std::string_view s(reinterpret_cast<const char*>(m_data + m_at), n);
        m_at += n;
        return s;
    }
    std::string_view rest() {
        std::string_view s(reinterpret_cast<const char*>(m_data + m_at), left());
        m_at = m_size;
        return s;
    }

private:
    const uint8_t* m_data;
    size_t m_size;
    size_t m_at = 0;
};

}  // namespace mts::fuzz
