#pragma once
// Local data parallel without torchrun: this process is rank 0 and starts ranks 1..N-1 as
// child processes of a given program (the CLI: itself; the studio: mamba-studio-cli).
//
//   LocalLaunch l;  l.nproc = 2;  l.program = "/proc/self/exe";  l.args = {...};
//   auto ranks = LocalRanks::start(l);                // hosts the store, spawns the children
//   TrainStart start;  start.distributed = ranks->rankZeroOptions();
//   ... Trainer(cfg, start).run() ...                 // rank 0 trains in this process
//   auto outcome = ranks->finish(result.stopReason != TrainStopReason::MaxSteps ...);
//
// The rendezvous store (c10d TCPStore) lives in this process on 127.0.0.1 and a port the
// system picks, so there is no port to choose and no race for one. Children get the standard
// variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) plus
// MTS_DIST_STORE_HOSTED=1, MTS_DIST_TIMEOUT, MTS_DIST_BACKEND, MTS_DIST_BUCKET_MB,
// MTS_DIST_OVERLAP; they run in a process group of their own (a terminal's Ctrl-C reaches rank
// 0 only, whose cancel the ranks agree on) and get SIGTERM if this process dies.
// Threading: use from one thread. Failure: start() throws std::runtime_error when a child
// cannot be started (the ones started are killed).
#include <memory>
#include <string>
#include <vector>

#include "mts/core/train/distributed_options.h"

namespace mts {

namespace compat {
class CommStore;
}

struct LocalLaunch {
    int nproc = 2;                   // ranks in all, this process included
    std::string program;             // executable of ranks 1..N-1
    std::vector<std::string> args;   // their arguments (argv[1..]); the same command as rank 0's
    DistributedOptions base;         // backend, timeoutSec, bucketMb, overlap for every rank
};

struct RankExit {
    int rank = 0;
    int64_t pid = 0;
    bool exited = false;   // false: still running (or killed by finish() after the grace time)
    int exitCode = -1;     // when it exited normally
    int signal = 0;        // when a signal ended it
    std::string describe() const;  // "rank 1 (pid 123) exited with code 3" / "... was killed by signal 9"
};

class LocalRanks {
public:
    static std::unique_ptr<LocalRanks> start(const LocalLaunch& launch);
    ~LocalRanks();  // kills (SIGKILL) and reaps children still running
    LocalRanks(const LocalRanks&) = delete;
    LocalRanks& operator=(const LocalRanks&) = delete;

    /// Options for rank 0 (this process); peerExited reports a child that already exited.
    DistributedOptions rankZeroOptions();
    /// Children as known now (reaps the ones that exited).
    std::vector<RankExit> poll();
    /// Waits up to graceSec for the children to exit, then SIGTERM, 2 s later SIGKILL. Returns
    /// every child's end.
    std::vector<RankExit> finish(double graceSec);

private:
    LocalRanks() = default;
    LocalLaunch m_launch;
    std::shared_ptr<compat::CommStore> m_store;
    int m_port = 0;
    std::vector<RankExit> m_children;
};

}  // namespace mts
