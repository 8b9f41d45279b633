#pragma once
// Running a shell command line from a test (the CLI end-to-end tests).
#include <cstdint>
#include <string>
#include <vector>

namespace mts::test {

struct CommandRun {
    int exitCode = -1;  // -1 when the command could not run or did not exit normally
    std::string out;    // its stdout
};

/// Runs `command` with /bin/sh and captures its stdout (redirect stderr in the command).
CommandRun runCommand(const std::string& command);

/// Path of the mamba-studio-cli executable built with these tests.
std::string cliPath();

/// `s` single-quoted for the shell.
std::string shellQuoted(const std::string& s);

/// The CLI, shell-quoted, followed by `options` (e.g. "-q --threads 1") when given.
std::string cliCommand(const std::string& options = "");

/// Token ids as the CLI takes them: "1,2,3".
std::string joinIds(const std::vector<int32_t>& ids);

/// The pid of a process that has exited and been reaped (no process has it, for now).
int deadPid();

}  // namespace mts::test
