#pragma once
// How CLI subcommands plug into mamba-studio-cli: each cmd_*.cpp registers itself with
// MTS_CLI_COMMAND, so adding a command touches no other file.
//
//   static void addFoo(CLI::App& app, mts::cli::Runner& run) {
//       auto* sub = app.add_subcommand("foo", "What foo does");
//       auto opts = std::make_shared<FooOptions>();
//       sub->add_option(...);
//       sub->callback([&run, opts] { run = [opts] { return runFoo(*opts); }; });
//   }
//   MTS_CLI_COMMAND(addFoo);
//
// The runner returns the process exit code. Exceptions thrown by it are caught in main and
// printed as one line on stderr ("error: <what>") with exit code 1.
#include <functional>
#include <vector>

namespace CLI {
class App;
}

namespace mts::cli {

using Runner = std::function<int()>;
using CommandAdder = void (*)(CLI::App&, Runner&);

std::vector<CommandAdder>& commandRegistry();

struct CommandRegistration {
    explicit CommandRegistration(CommandAdder adder) { commandRegistry().push_back(adder); }
};

}  // namespace mts::cli

#define MTS_CLI_CONCAT2(a, b) a##b
#define MTS_CLI_CONCAT(a, b) MTS_CLI_CONCAT2(a, b)
#define MTS_CLI_COMMAND(adder) \
    static const ::mts::cli::CommandRegistration MTS_CLI_CONCAT(kMtsCliReg_, __LINE__){adder}
