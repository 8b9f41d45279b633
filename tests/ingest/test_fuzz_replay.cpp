// The ingest fuzz targets (tests/fuzz/fuzz_*.cpp, compiled here as plain functions) replayed on
// every file of their corpora, tests/fuzz/corpus/<name>/: the seeds and every finding of past
// fuzzing runs, so the normal build keeps them fixed. A target's checks throw on failure.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "shared_data.h"

int mtsFuzz_pdf_layout(const uint8_t* data, size_t size);
int mtsFuzz_html(const uint8_t* data, size_t size);
int mtsFuzz_records(const uint8_t* data, size_t size);
int mtsFuzz_text_clean(const uint8_t* data, size_t size);
int mtsFuzz_gitignore(const uint8_t* data, size_t size);
int mtsFuzz_pdf_protocol(const uint8_t* data, size_t size);
int mtsFuzz_config_files(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

void replay(const char* name, int (*target)(const uint8_t*, size_t)) {
    const fs::path dir = mts::test::sourceDir() / "tests" / "fuzz" / "corpus" / name;
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string bytes = ss.str();
        try {
            target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
        } catch (const std::logic_error& err) {
            ADD_FAILURE() << e.path() << ": " << err.what();
        }
        ++files;
    }
    EXPECT_GE(files, 3u) << "seed corpus too small: " << dir;
}

}  // namespace

TEST(FuzzReplay, PdfLayout) { replay("pdf_layout", &mtsFuzz_pdf_layout); }
TEST(FuzzReplay, Html) { replay("html", &mtsFuzz_html); }
TEST(FuzzReplay, Records) { replay("records", &mtsFuzz_records); }
TEST(FuzzReplay, TextClean) { replay("text_clean", &mtsFuzz_text_clean); }
TEST(FuzzReplay, Gitignore) { replay("gitignore", &mtsFuzz_gitignore); }
TEST(FuzzReplay, PdfProtocol) { replay("pdf_protocol", &mtsFuzz_pdf_protocol); }
TEST(FuzzReplay, ConfigFiles) { replay("config_files", &mtsFuzz_config_files); }
