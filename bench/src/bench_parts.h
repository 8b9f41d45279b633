#pragma once
// `mamba-studio-cli bench <what>`: bench_command.cpp creates the `bench` subcommand and calls
// each part below to add its own sub-subcommand. Each part prints a table for people, or
// one JSON object with --json.
#include "mts/bench/bench_command.h"

namespace CLI {
class App;
}

namespace mts::bench {
void addBenchScan(CLI::App& bench, Runner& run);      // bench_scan.cpp (kernels)
void addBenchTrain(CLI::App& bench, Runner& run);     // bench_train.cpp (training step)
void addBenchGenerate(CLI::App& bench, Runner& run);  // bench_generate.cpp
void addBenchTokenize(CLI::App& bench, Runner& run);  // bench_tokenize.cpp
void addBenchPrecision(CLI::App& bench, Runner& run); // bench_precision.cpp
}  // namespace mts::bench
