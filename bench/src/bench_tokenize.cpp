// `mamba-studio-cli bench tokenize`: encoding MB/s of each tokenizer on a text file (one thread
// and all threads), and the time to train a byte-level BPE on that file.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_parts.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/bpe_trainer.h"
#include "mts/core/tokenize/tokenizer.h"

namespace mts::bench {
namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU seconds: on a shared, overloaded machine these give the rate the code reaches on a free core.
double cpuSeconds(clockid_t clock) {
    timespec t{};
    clock_gettime(clock, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct BenchTokenizeOptions {
    std::string file;
    std::vector<std::string> tokenizers;
    int64_t trainVocab = 4096;
    int threads = 0;
    int reps = 3;
    bool json = false;
};

// Lines grouped into ~64 KiB chunks: the unit of parallel encoding (as ingest feeds documents).
std::vector<std::string_view> chunks(const std::string& text) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = std::min(text.size(), start + (64u << 10));
        const size_t nl = text.find('\n', end);
        end = nl == std::string::npos ? text.size() : nl + 1;
        out.emplace_back(text.data() + start, end - start);
        start = end;
    }
    return out;
}

struct EncodeResult {
    std::string name;
    int64_t tokens = 0;
    double coldMBs = 0;      // first pass (empty piece cache)
    double warmMBs = 0;      // best later pass, one thread
    double cpuMBs = 0;       // best later pass, per CPU second of the encoding thread
    double parallelMBs = 0;  // all threads, chunked
    int threads = 1;
};

EncodeResult benchOne(const std::string& name, const Tokenizer& tok, const std::string& text, int reps, int threads) {
    EncodeResult r;
    r.name = name;
    r.threads = threads;
    const double mb = static_cast<double>(text.size()) / 1e6;
    auto t0 = Clock::now();
    r.tokens = static_cast<int64_t>(tok.encode(text).size());
    r.coldMBs = mb / secondsSince(t0);
    double best = 1e30, bestCpu = 1e30;
    for (int i = 0; i < reps; ++i) {
        t0 = Clock::now();
        const double c0 = cpuSeconds(CLOCK_THREAD_CPUTIME_ID);
        (void)tok.encode(text);
        best = std::min(best, secondsSince(t0));
        bestCpu = std::min(bestCpu, cpuSeconds(CLOCK_THREAD_CPUTIME_ID) - c0);
    }
    r.warmMBs = mb / best;
    r.cpuMBs = mb / std::max(bestCpu, 1e-9);
    const auto parts = chunks(text);
    best = 1e30;
    for (int i = 0; i < reps; ++i) {
        t0 = Clock::now();
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t)
            pool.emplace_back([&, t] {
                for (size_t k = static_cast<size_t>(t); k < parts.size(); k += static_cast<size_t>(threads))
                    (void)tok.encode(parts[k]);
            });
        for (auto& th : pool) th.join();
        best = std::min(best, secondsSince(t0));
    }
    r.parallelMBs = mb / best;
    return r;
}

int runBenchTokenize(const BenchTokenizeOptions& o) {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) throw FormatError(o.file, "cannot open");
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    const int threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());

    BpeTrainerConfig cfg;
    cfg.vocabSize = o.trainVocab;
    cfg.threads = threads;
    cfg.sampleBytes = 0;
    auto t0 = Clock::now();
    const double c0 = cpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
    BpeTrainer trainer(cfg);
    trainer.addText(text);
    BpeTrainResult trained = trainer.train();
    const double trainSeconds = secondsSince(t0);
    const double trainCpuSeconds = cpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - c0;

    std::vector<EncodeResult> results;
    results.push_back(benchOne("byte", *makeByteTokenizer(), text, o.reps, threads));
    results.push_back(benchOne(fmt::format("bpe trained ({})", o.trainVocab), *trained.tokenizer, text, o.reps, threads));
    for (const auto& path : o.tokenizers) {
        const auto tok = loadTokenizer(path);
        results.push_back(benchOne(path, *tok, text, o.reps, threads));
    }

    if (o.json) {
        nlohmann::json j;
        j["file"] = o.file;
        j["bytes"] = text.size();
        j["threads"] = threads;
        j["bpe_train"] = {{"vocab_size", o.trainVocab}, {"seconds", trainSeconds}, {"cpu_seconds", trainCpuSeconds}, {"merges", trained.merges},
                          {"distinct_words", trained.distinctWords}};
        for (const auto& r : results)
            j["encode"].push_back({{"tokenizer", r.name}, {"tokens", r.tokens}, {"cold_mb_s", r.coldMBs},
                                   {"warm_mb_s", r.warmMBs}, {"cpu_mb_s", r.cpuMBs}, {"parallel_mb_s", r.parallelMBs}});
        std::puts(j.dump(2).c_str());
        return 0;
    }
    fmt::print("file: {} ({:.2f} MB), threads: {}\n", o.file, text.size() / 1e6, threads);
    fmt::print("BPE training, vocab {}: {:.2f} s wall, {:.2f} s CPU ({} merges, {} distinct pieces)\n\n",
               o.trainVocab, trainSeconds, trainCpuSeconds, trained.merges, trained.distinctWords);
    fmt::print("{:<40} {:>10} {:>8} {:>10} {:>10} {:>10} {:>12}\n", "tokenizer", "tokens", "B/token", "cold MB/s",
               "warm MB/s", "CPU MB/s", fmt::format("{} thr MB/s", threads));
    for (const auto& r : results)
        fmt::print("{:<40} {:>10} {:>8.2f} {:>10.2f} {:>10.2f} {:>10.2f} {:>12.2f}\n", r.name, r.tokens,
                   static_cast<double>(text.size()) / std::max<int64_t>(r.tokens, 1), r.coldMBs, r.warmMBs, r.cpuMBs,
                   r.parallelMBs);
    fmt::print("(MB/s = 1e6 bytes per second of wall time; CPU MB/s per second of the encoding thread's CPU time)\n");
    return 0;
}

}  // namespace

void addBenchTokenize(CLI::App& bench, Runner& run) {
    auto* sub = bench.add_subcommand("tokenize", "Tokenizer encoding MB/s and BPE training time on a text file");
    auto o = std::make_shared<BenchTokenizeOptions>();
    sub->add_option("--file", o->file, "UTF-8 text file to encode and train on")->required();
    sub->add_option("--tokenizer", o->tokenizers, "Also time these tokenizers (tokenizer.json or folder); repeatable");
    sub->add_option("--train-vocab", o->trainVocab, "Vocabulary size of the BPE trained on the file")->capture_default_str();
    sub->add_option("--bench-threads", o->threads, "Threads for parallel encoding and training (0 = all cores)")
        ->capture_default_str();
    sub->add_option("--reps", o->reps, "Timed repetitions (best is reported)")->capture_default_str();
    sub->add_flag("--json", o->json, "Print one JSON object instead of a table");
    sub->callback([&run, o] { run = [o] { return runBenchTokenize(*o); }; });
}

}  // namespace mts::bench
