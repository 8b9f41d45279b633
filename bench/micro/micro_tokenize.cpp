// Google Benchmark micro-benchmarks of the tokenizers (mts_micro_bench): encoding and decoding
// with the byte tokenizer and a byte-level BPE, on one text. Rates: bytes of text per second.
//
// The text: the file named by MTS_BENCH_TEXT, else 1 MiB of generated prose (the same every
// run). The BPE: the tokenizer named by MTS_BENCH_TOKENIZER (a tokenizer.json, or a folder
// loadTokenizer reads), else one of 4096 ids trained on the text at start-up. The whole-file,
// all-threads figures are `mamba-studio-cli bench tokenize`.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "mts/core/tokenize/bpe_trainer.h"
#include "mts/core/tokenize/tokenizer.h"

namespace {

std::string generatedProse(size_t bytes) {
    static const char* kWords[] = {"the",    "state", "space",  "model",   "reads",  "every", "token", "once",
                                   "and",    "keeps", "a",      "summary", "of",     "what",  "came",  "before",
                                   "kernel", "scan",  "layers", "gate",    "signal", "learns", "fast", "memory"};
    std::mt19937 rng(7);
    std::string out;
    out.reserve(bytes + 16);
    while (out.size() < bytes) {
        out += kWords[rng() % (sizeof kWords / sizeof *kWords)];
        const unsigned r = rng() % 23;
        out += r == 0 ? ".\n\n" : r < 3 ? ", " : r == 3 ? "." : " ";
        if (r == 3) out += " " + std::to_string(rng() % 1000) + " ";
    }
    out.resize(bytes);
    return out;
}

const std::string& benchText() {
    static const std::string text = [] {
        if (const char* file = std::getenv("MTS_BENCH_TEXT")) {
            std::ifstream in(file, std::ios::binary);
            std::stringstream ss;
            ss << in.rdbuf();
            if (!in || ss.str().empty()) {
                std::fprintf(stderr, "MTS_BENCH_TEXT=%s: cannot read the file, or it is empty\n", file);
                std::exit(2);
            }
            return ss.str();
        }
        return generatedProse(1u << 20);
    }();
    return text;
}

const mts::Tokenizer& bpeTokenizer() {
    static const std::unique_ptr<mts::Tokenizer> tokenizer = [] {
        if (const char* path = std::getenv("MTS_BENCH_TOKENIZER")) return mts::loadTokenizer(path);
        mts::BpeTrainerConfig cfg;
        cfg.vocabSize = 4096;
        mts::BpeTrainer trainer(cfg);
        trainer.addText(benchText());
        return trainer.train().tokenizer;
    }();
    return *tokenizer;
}

const mts::Tokenizer& byteTokenizer() {
    static const std::unique_ptr<mts::Tokenizer> tokenizer = mts::makeByteTokenizer();
    return *tokenizer;
}

void encode(benchmark::State& state, const mts::Tokenizer& tokenizer) {
    const std::string& text = benchText();
    size_t tokens = 0;
    for (auto _ : state) {
        auto ids = tokenizer.encode(text);
        tokens = ids.size();
        benchmark::DoNotOptimize(ids.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
    state.counters["bytes_per_token"] = static_cast<double>(text.size()) / static_cast<double>(std::max<size_t>(1, tokens));
}

void decode(benchmark::State& state, const mts::Tokenizer& tokenizer) {
    const std::string& text = benchText();
    const std::vector<int32_t> ids = tokenizer.encode(text);
    for (auto _ : state) {
        std::string back = tokenizer.decode(ids);
        benchmark::DoNotOptimize(back.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

// Decoding one id at a time as generation does it: the streaming UTF-8 decoder over tokenBytes.
void decodeStreaming(benchmark::State& state, const mts::Tokenizer& tokenizer) {
    const std::string& text = benchText();
    const std::vector<int32_t> ids = tokenizer.encode(text);
    for (auto _ : state) {
        mts::Utf8StreamDecoder decoder;
        size_t out = 0;
        for (int32_t id : ids) out += decoder.push(tokenizer.tokenBytes(id)).size();
        benchmark::DoNotOptimize(out);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_ByteEncode(benchmark::State& state) { encode(state, byteTokenizer()); }
void BM_ByteDecode(benchmark::State& state) { decode(state, byteTokenizer()); }
void BM_BpeEncode(benchmark::State& state) { encode(state, bpeTokenizer()); }
void BM_BpeDecode(benchmark::State& state) { decode(state, bpeTokenizer()); }
void BM_BpeDecodeStreaming(benchmark::State& state) { decodeStreaming(state, bpeTokenizer()); }

BENCHMARK(BM_ByteEncode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ByteDecode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BpeEncode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BpeDecode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BpeDecodeStreaming)->Unit(benchmark::kMillisecond);

}  // namespace
