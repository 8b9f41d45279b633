#pragma once
// Benchmarks of the engine (not tests: figures for the README and for A/B comparisons).
// `mamba-studio-cli bench scan|train|generate|tokenize [--json]`: each prints a table for
// people or one JSON object with --json. The CLI (the composition root) only wires this in.
//
// Threading: a benchmark runs on the calling thread and uses LibTorch's intra-op pool as set
// up by mts::initRuntime. Failure: bad options throw ConfigError (printed by the CLI).
#include <functional>

namespace CLI {
class App;
}

namespace mts::bench {

/// The body of a parsed command: returns the process exit code.
using Runner = std::function<int()>;

/// Adds the `bench` subcommand to `app`; when it is chosen, `run` is set to the benchmark.
void addBenchCommand(CLI::App& app, Runner& run);

}  // namespace mts::bench
