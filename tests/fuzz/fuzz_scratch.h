#pragma once
// A scratch folder for fuzz targets that read files: one per process, removed at exit.
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace mts::fuzz {

class Scratch {
public:
    explicit Scratch(const std::string& name)
        : m_dir(std::filesystem::temp_directory_path() / ("mts-fuzz-" + name + "-" + std::to_string(::getpid()))) {
        std::filesystem::create_directories(m_dir);
    }
    ~Scratch() {
        std::error_code ec;
        std::filesystem::remove_all(m_dir, ec);
    }
    const std::filesystem::path& dir() const { return m_dir; }
    /// Writes `size` bytes to dir()/name (replacing it) and returns its path.
    std::filesystem::path write(const std::string& name, const void* data, size_t size) const {
        const auto p = m_dir / name;
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
        return p;
    }

private:
    std::filesystem::path m_dir;
};

}  // namespace mts::fuzz
