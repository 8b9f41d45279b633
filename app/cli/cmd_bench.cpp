// `mamba-studio-cli bench ...`: wires the benchmarks (bench/, target mts_bench) into the CLI.
#include "command.h"
#include "mts/bench/bench_command.h"

namespace mts::cli {
namespace {

void addBench(CLI::App& app, Runner& run) { bench::addBenchCommand(app, run); }
MTS_CLI_COMMAND(addBench);

}  // namespace
}  // namespace mts::cli
