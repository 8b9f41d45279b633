#include "shared_data.h"

#include <atomic>
#include <cstdlib>
#include <random>
#include <unistd.h>

namespace mts::test {

std::filesystem::path sharedDir() {
    if (const char* env = std::getenv("MTS_SHARED_DIR"); env && *env) return env;
    return std::filesystem::weakly_canonical(MTS_DEFAULT_SHARED_DIR);
}

std::filesystem::path sharedPath(const std::string& relative) { return sharedDir() / relative; }

bool sharedDataRequired() {
    const char* env = std::getenv("MTS_REQUIRE_SHARED_DATA");
    return env && std::string(env) == "1";
}

std::filesystem::path sourceDir() { return MTS_SOURCE_DIR; }

TempDir::TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    auto base = std::filesystem::temp_directory_path();
    for (;;) {
        auto candidate = base / ("mts-test-" + std::to_string(::getpid()) + "-" +
                                 std::to_string(counter++) + "-" + std::to_string(rd() % 100000));
        if (std::filesystem::create_directory(candidate)) {
            m_path = candidate;
            return;
        }
    }
}

TempDir::~TempDir() {
    std::error_code ec;
    // Restore permissions first so tests that chmod 000 do not leak directories.
    for (auto it = std::filesystem::recursive_directory_iterator(
             m_path, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ec);
    }
    std::filesystem::remove_all(m_path, ec);
}

}  // namespace mts::test
