// mamba-studio-cli: the headless engine. Thin: parse the command line, start the runtime, run.
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "mts/core/kernels/scan_backend_name.h"
#include "mts/core/runtime/runtime.h"

namespace mts::cli {
std::vector<CommandAdder>& commandRegistry() {
    static std::vector<CommandAdder> registry;
    return registry;
}
}  // namespace mts::cli

int main(int argc, char** argv) {
    mts::ensureThreadingEnvironment(argv);
    CLI::App app{"Mamba Studio (headless): train, generate, ingest, tokenize, export, bench"};
    app.require_subcommand(1);
    int threads = 0;
    bool quiet = false;
    app.add_option("--threads", threads, "Intra-op threads (0 = all cores)");
    app.add_flag("-q,--quiet", quiet, "Only errors and warnings about the work on stderr (no start-up summary)");
    mts::cli::Runner run;
    for (auto adder : mts::cli::commandRegistry()) adder(app, run);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    // Logs go to stderr so stdout carries only the command's output (ids, text, JSON).
    spdlog::set_default_logger(spdlog::stderr_color_mt("mts"));
    spdlog::set_level(quiet ? spdlog::level::warn : spdlog::level::info);
    try {
        mts::RuntimeOptions ro;
        ro.threads = threads;
        ro.log = !quiet;  // -q: the start-up summary and set-up advice stay out of the way
        ro.describeScanBackend = mts::describeDefaultScanBackend;
        mts::initRuntime(ro);
        return run ? run() : 0;
    } catch (const std::exception& e) {
        std::string msg = e.what();
        // c10::Error carries a backtrace after the first line; a person needs the first line.
        if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
        std::fprintf(stderr, "error: %s\n", msg.c_str());
        return 1;
    }
}
