// The `bench` subcommand: one sub-subcommand per benchmark (scan, train, generate, tokenize).
#include <CLI/CLI.hpp>

#include "bench_parts.h"

namespace mts::bench {

void addBenchCommand(CLI::App& app, Runner& run) {
    auto* bench = app.add_subcommand("bench", "Benchmarks: scan, train, generate, tokenize (table, or --json)");
    bench->require_subcommand(1);
    addBenchScan(*bench, run);
    addBenchTrain(*bench, run);
    addBenchGenerate(*bench, run);
    addBenchTokenize(*bench, run);
    addBenchPrecision(*bench, run);
}

}  // namespace mts::bench
