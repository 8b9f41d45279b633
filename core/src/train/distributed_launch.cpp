#include "mts/core/train/distributed_launch.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "runtime/torch_compat_c10d.h"

extern char** environ;

namespace mts {

namespace {

using Clock = std::chrono::steady_clock;

// The child's environment: ours, with the rank variables replaced.
std::vector<std::string> childEnvironment(const LocalLaunch& l, int rank, int port) {
    const std::vector<std::pair<std::string, std::string>> set = {
        {"RANK", std::to_string(rank)},
        {"LOCAL_RANK", std::to_string(rank)},
        {"WORLD_SIZE", std::to_string(l.nproc)},
        {"LOCAL_WORLD_SIZE", std::to_string(l.nproc)},
        {"MASTER_ADDR", "127.0.0.1"},
        {"MASTER_PORT", std::to_string(port)},
        {"MTS_DIST_STORE_HOSTED", "1"},
        {"MTS_DIST_TIMEOUT", fmt::format("{:g}", l.base.timeoutSec)},
        {"MTS_DIST_BACKEND", l.base.backend},
        {"MTS_DIST_BUCKET_MB", fmt::format("{:g}", l.base.bucketMb)},
        {"MTS_DIST_OVERLAP", l.base.overlap ? "1" : "0"},
    };
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
        const std::string kv = *e;
        const std::string key = kv.substr(0, kv.find('='));
        bool replaced = false;
        for (const auto& [k, v] : set) replaced = replaced || k == key;
        if (!replaced && key != "TORCHELASTIC_USE_AGENT_STORE") env.push_back(kv);
    }
    for (const auto& [k, v] : set) env.push_back(k + "=" + v);
    return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

void reap(RankExit& c, bool block) {
    if (c.exited || c.pid <= 0) return;
    int status = 0;
    const pid_t r = ::waitpid(static_cast<pid_t>(c.pid), &status, block ? 0 : WNOHANG);
    if (r != static_cast<pid_t>(c.pid)) return;
    c.exited = true;
    if (WIFEXITED(status)) c.exitCode = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) c.signal = WTERMSIG(status);
}

}  // namespace

std::string RankExit::describe() const {
    if (!exited) return fmt::format("rank {} (pid {}) is still running", rank, pid);
    if (signal != 0) return fmt::format("rank {} (pid {}) was killed by signal {} ({})", rank, pid, signal,
                                        ::strsignal(signal));
    return fmt::format("rank {} (pid {}) exited with code {}", rank, pid, exitCode);
}

std::unique_ptr<LocalRanks> LocalRanks::start(const LocalLaunch& launch) {
    if (launch.nproc < 2) throw std::runtime_error("--nproc: at least 2 processes for local data parallel");
    std::unique_ptr<LocalRanks> ranks(new LocalRanks());
    ranks->m_launch = launch;
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(launch.base.timeoutSec * 1000.0));
    ranks->m_store = compat::CommStore::tcp("127.0.0.1", 0, /*isServer=*/true, timeout);
    ranks->m_port = ranks->m_store->port();
    const pid_t parent = ::getpid();
    for (int rank = 1; rank < launch.nproc; ++rank) {
        std::vector<std::string> argv{launch.program};
        argv.insert(argv.end(), launch.args.begin(), launch.args.end());
        std::vector<std::string> env = childEnvironment(launch, rank, ranks->m_port);
        auto argvp = pointers(argv);
        auto envp = pointers(env);
        const pid_t pid = ::fork();
        if (pid < 0)
            throw std::runtime_error(fmt::format("--nproc: cannot start rank {}: {}", rank, std::strerror(errno)));
        if (pid == 0) {
            // Child: only async-signal-safe calls until exec.
            ::setpgid(0, 0);
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (::getppid() != parent) ::_exit(125);
            const int devnull = ::open("/dev/null", O_RDONLY);
            if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
            ::signal(SIGINT, SIG_DFL);
            ::signal(SIGTERM, SIG_DFL);
            ::execve(argvp[0], argvp.data(), envp.data());
            ::_exit(127);
        }
        RankExit c;
        c.rank = rank;
        c.pid = pid;
        ranks->m_children.push_back(c);
    }
    return ranks;
}

LocalRanks::~LocalRanks() {
    for (auto& c : m_children) {
        reap(c, false);
        if (!c.exited) {
            ::kill(static_cast<pid_t>(c.pid), SIGKILL);
            reap(c, true);
        }
    }
}

DistributedOptions LocalRanks::rankZeroOptions() {
    DistributedOptions o = m_launch.base;
    o.enabled = true;
    o.rank = 0;
    o.localRank = 0;
    o.worldSize = m_launch.nproc;
    o.masterAddr = "127.0.0.1";
    o.masterPort = m_port;
    o.storeHosted = true;
    o.peerExited = [this]() -> std::string {
        for (const auto& c : poll())
            if (c.exited) return c.describe();
        return {};
    };
    return o;
}

std::vector<RankExit> LocalRanks::poll() {
    for (auto& c : m_children) reap(c, false);
    return m_children;
}

std::vector<RankExit> LocalRanks::finish(double graceSec) {
    auto allDone = [this] {
        bool done = true;
        for (auto& c : m_children) {
            reap(c, false);
            done = done && c.exited;
        }
        return done;
    };
    auto waitFor = [&](double sec) {
        const auto t0 = Clock::now();
        while (!allDone() && std::chrono::duration<double>(Clock::now() - t0).count() < sec)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    };
    waitFor(graceSec);
    for (auto& c : m_children)
        if (!c.exited) ::kill(static_cast<pid_t>(c.pid), SIGTERM);
    waitFor(2.0);
    for (auto& c : m_children)
        if (!c.exited) {
            ::kill(static_cast<pid_t>(c.pid), SIGKILL);
            reap(c, true);
        }
    return m_children;
}

}  // namespace mts
