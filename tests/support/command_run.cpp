#include "command_run.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

namespace mts::test {

std::string cliPath() { return MTS_CLI_PATH; }

CommandRun runCommand(const std::string& command) {
    CommandRun r;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
    const int status = pclose(pipe);
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

std::string shellQuoted(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

std::string cliCommand(const std::string& options) {
    return options.empty() ? shellQuoted(cliPath()) : shellQuoted(cliPath()) + " " + options;
}

std::string joinIds(const std::vector<int32_t>& ids) {
    std::string s;
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
    return s;
}

int deadPid() {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
}

}  // namespace mts::test
