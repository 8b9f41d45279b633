// Every fuzz target's entry function, run over its seed corpus and the crashes found
// (tests/fuzz/corpus/<name>/), in the normal build: what the fuzzers found stays fixed in CI.
// The fuzz sources are compiled into this executable with MTS_FUZZ_REPLAY (tests/fuzz/fuzz_entry.h).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern "C" int mtsFuzz_config_json(const uint8_t* data, size_t size);
extern "C" int mtsFuzz_gguf(const uint8_t* data, size_t size);
extern "C" int mtsFuzz_safetensors(const uint8_t* data, size_t size);
extern "C" int mtsFuzz_tokenizer_json(const uint8_t* data, size_t size);
extern "C" int mtsFuzz_corpus(const uint8_t* data, size_t size);
extern "C" int mtsFuzz_trainer_state(const uint8_t* data, size_t size);
extern "C" int mtsFuzz_vocab_merges(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;
using Entry = int (*)(const uint8_t*, size_t);

// Runs `entry` over every file of tests/fuzz/corpus/<name>/ (at least one must exist).
void replay(const std::string& name, Entry entry) {
    const fs::path dir = fs::path(MTS_FUZZ_CORPUS_DIR) / name;
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    ASSERT_FALSE(files.empty()) << dir << " holds no inputs";
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        SCOPED_TRACE(f.string());
        EXPECT_EQ(entry(bytes.data(), bytes.size()), 0);
    }
    // The empty input too: every target must take it.
    EXPECT_EQ(entry(nullptr, 0), 0);
}

}  // namespace

TEST(FuzzReplay, ConfigJson) { replay("config_json", mtsFuzz_config_json); }
TEST(FuzzReplay, Gguf) { replay("gguf", mtsFuzz_gguf); }
TEST(FuzzReplay, Safetensors) { replay("safetensors", mtsFuzz_safetensors); }
TEST(FuzzReplay, TokenizerJson) { replay("tokenizer_json", mtsFuzz_tokenizer_json); }
TEST(FuzzReplay, Corpus) { replay("corpus", mtsFuzz_corpus); }
TEST(FuzzReplay, TrainerState) { replay("trainer_state", mtsFuzz_trainer_state); }
TEST(FuzzReplay, VocabMerges) { replay("vocab_merges", mtsFuzz_vocab_merges); }
