#include "train_ranks.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/runtime.h"

namespace mts::cli {

namespace {

std::vector<std::string> ownArguments() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> args;
    std::string cur;
    for (char c : all) {
        if (c == '\0') {
            args.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!args.empty()) args.erase(args.begin());  // the program
    return args;
}

// The ranks' command: ours without --nproc and --threads, with their share of the cores.
std::vector<std::string> rankArguments(const std::vector<std::string>& own, int threadsPerRank, int& totalThreads) {
    std::vector<std::string> out{"--threads", std::to_string(threadsPerRank)};
    for (size_t i = 0; i < own.size(); ++i) {
        const std::string& a = own[i];
        if (a == "--nproc" || a == "--threads") {
            if (a == "--threads" && i + 1 < own.size()) totalThreads = std::atoi(own[i + 1].c_str());
            ++i;
            continue;
        }
        if (a.rfind("--nproc=", 0) == 0) continue;
        if (a.rfind("--threads=", 0) == 0) {
            totalThreads = std::atoi(a.c_str() + 10);
            continue;
        }
        out.push_back(a);
    }
    return out;
}

}  // namespace

void addTrainRankOptions(CLI::App& sub, TrainRankOptions& o) {
    sub.add_option("--nproc", o.nproc,
                   "Data parallel on this machine: train with N processes (this one is rank 0), cores divided "
                   "among them; under torchrun the ranks come from RANK/WORLD_SIZE instead")
        ->check(CLI::Range(1, 1024));
    sub.add_option("--dist-backend", o.backend, "Data parallel: auto (nccl on CUDA, else gloo) | gloo | nccl")
        ->check(CLI::IsMember({"auto", "gloo", "nccl"}));
    sub.add_option("--dist-timeout", o.timeoutSec,
                   "Data parallel: seconds before a dead or hung rank fails the others (default 180)")
        ->check(CLI::Range(1.0, 86400.0));
    sub.add_option("--dist-bucket-mb", o.bucketMb, "Data parallel: gradient all-reduce bucket size in MB (default 25)")
        ->check(CLI::Range(0.0, 4096.0));
    sub.add_flag("--dist-no-overlap", o.noOverlap,
                 "Data parallel: all-reduce after backward instead of during it (to measure the overlap)");
}

TrainRanks::TrainRanks(const TrainRankOptions& o) {
    m_options = distributedOptionsFromEnv();
    // Flags given on the command line win over the environment (the local ranks get both).
    const bool underLauncher = m_options.enabled;
    if (!underLauncher || o.backend != "auto") m_options.backend = o.backend;
    if (!underLauncher || o.timeoutSec != 180.0) m_options.timeoutSec = o.timeoutSec;
    if (!underLauncher || o.bucketMb != 25.0) m_options.bucketMb = o.bucketMb;
    if (o.noOverlap) m_options.overlap = false;
    if (underLauncher) {
        if (o.nproc > 1 && std::getenv("MTS_DIST_STORE_HOSTED") == nullptr)
            throw ConfigError(fmt::format("--nproc {}: this process is already rank {} of {} (RANK/WORLD_SIZE are "
                                          "set, e.g. by torchrun): drop --nproc",
                                          o.nproc, m_options.rank, m_options.worldSize));
        if (m_options.rank != 0) {
            // One voice on the terminal: the other ranks say only what goes wrong.
            spdlog::set_pattern(fmt::format("[%H:%M:%S.%e] [rank {}] [%l] %v", m_options.rank));
            spdlog::set_level(spdlog::level::warn);
        }
        return;
    }
    if (o.nproc <= 1) return;
    LocalLaunch l;
    l.nproc = o.nproc;
    l.program = "/proc/self/exe";
    int total = 0;
    const auto own = ownArguments();
    rankArguments(own, 1, total);  // reads --threads
    if (total <= 0) total = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int perRank = std::max(1, total / o.nproc);
    l.args = rankArguments(own, perRank, total);
    l.base = m_options;
    m_local = LocalRanks::start(l);
    m_options = m_local->rankZeroOptions();
    RuntimeOptions ro;
    ro.threads = perRank;
    ro.log = false;
    initRuntime(ro);
    spdlog::info("data parallel: {} local ranks with {} thread{} each; ranks 1..{} are pids {}", o.nproc, perRank,
                 perRank == 1 ? "" : "s", o.nproc - 1, [&] {
                     std::string pids;
                     for (const auto& c : m_local->poll()) pids += (pids.empty() ? "" : ", ") + std::to_string(c.pid);
                     return pids;
                 }());
}

int TrainRanks::finish(const TrainResult& r) {
    const bool failed = r.stopReason == TrainStopReason::Failed || r.stopReason == TrainStopReason::NonFinite ||
                        r.stopReason == TrainStopReason::RankFailed;
    int code = r.stopReason == TrainStopReason::RankFailed ? kExitRankFailed : failed ? 1 : 0;
    if (!m_local) return code;
    // A successful rank 0 finished every collective: the others are only exiting. After a
    // failure, a hung rank would never exit by itself.
    const auto ends = m_local->finish(failed ? 5.0 : m_options.timeoutSec);
    for (const auto& c : ends) {
        const bool bad = c.signal != 0 || c.exitCode != 0;
        if (!bad) continue;
        spdlog::warn("{}", c.describe());
        if (code == 0) code = kExitRankFailed;
    }
    return code;
}

}  // namespace mts::cli
