#pragma once
// The one way tests reach ../shared data (fixtures, corpora, PDFs).
//
// The shared folder is $MTS_SHARED_DIR when set, else ../shared beside the source tree.
// When a file is missing: with MTS_REQUIRE_SHARED_DATA=1 (CI) the test fails; otherwise it is
// skipped with a message naming the file (a user's clone has no ../shared).
//
// Usage in a test body:
//   MTS_REQUIRE_SHARED(path, "fixtures/mamba-tiny-hf/model.safetensors");
//   // path is a std::filesystem::path to an existing file or folder here.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace mts::test {

/// Root of the shared data folder (may not exist).
std::filesystem::path sharedDir();

/// sharedDir() / relative.
std::filesystem::path sharedPath(const std::string& relative);

/// True when CI demands the shared data (MTS_REQUIRE_SHARED_DATA=1).
bool sharedDataRequired();

/// Root of this source tree (for resources/, docs/ used by tests).
std::filesystem::path sourceDir();

/// A fresh, empty temporary directory removed when the object dies.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return m_path; }
    std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

private:
    std::filesystem::path m_path;
};

}  // namespace mts::test

#define MTS_REQUIRE_SHARED(var, relative)                                                     \
    const std::filesystem::path var = ::mts::test::sharedPath(relative);                     \
    if (!std::filesystem::exists(var)) {                                                      \
        if (::mts::test::sharedDataRequired()) {                                              \
            FAIL() << "shared data missing (MTS_REQUIRE_SHARED_DATA=1): " << var.string();   \
        } else {                                                                              \
            GTEST_SKIP() << "shared data not present, skipping: " << var.string()            \
                         << " (set MTS_SHARED_DIR or place ../shared beside the repository)"; \
        }                                                                                     \
    }
