#pragma once
// Running a shell command line from a test (the CLI end-to-end tests).
#include <string>

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

}  // namespace mts::test
