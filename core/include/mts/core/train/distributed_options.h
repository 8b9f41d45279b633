#pragma once
// How this process takes part in data-parallel training (distributed.h has the machinery).
// Light on purpose: trainer.h carries it in TrainStart.
#include <functional>
#include <string>

namespace mts {

struct DistributedOptions {
    bool enabled = false;          // false: one process, nothing below is used
    int rank = 0;                  // 0 .. worldSize-1; rank 0 is the one writer (metrics, checkpoints)
    int worldSize = 1;
    int localRank = 0;             // rank on this machine: picks the CUDA device (cuda:localRank)
    std::string masterAddr = "127.0.0.1";  // where the rendezvous store listens
    int masterPort = 29500;
    bool storeHosted = false;      // a launcher hosts the store (torchrun's agent, --nproc): connect only
    std::string backend = "auto";  // auto (NCCL for CUDA tensors, else Gloo) | gloo | nccl
    double timeoutSec = 180.0;     // a collective or the rendezvous waiting longer fails
    double bucketMb = 25.0;        // gradient bucket size (the first bucket is at most 1 MB)
    bool overlap = true;           // all-reduce buckets during backward (false: after it, for measuring)
    std::string glooInterface;     // GLOO_SOCKET_IFNAME: the network interface Gloo binds to
    // Polled while waiting for the ranks to join: a non-empty answer (a local rank that already
    // exited, from the launcher) aborts the wait at once with that message.
    std::function<std::string()> peerExited;
};

/// The standard variables of torchrun, Slurm wrappers and `train --nproc`: RANK, WORLD_SIZE,
/// LOCAL_RANK, MASTER_ADDR (default 127.0.0.1), MASTER_PORT (default 29500),
/// TORCHELASTIC_USE_AGENT_STORE (True: the store is the agent's), GLOO_SOCKET_IFNAME, and ours:
/// MTS_DIST_BACKEND, MTS_DIST_TIMEOUT (seconds), MTS_DIST_BUCKET_MB, MTS_DIST_OVERLAP=0,
/// MTS_DIST_STORE_HOSTED=1.
/// enabled is true when WORLD_SIZE is set. Throws ConfigError naming the variable for a
/// malformed or inconsistent value (RANK outside 0..WORLD_SIZE-1, ...).
DistributedOptions distributedOptionsFromEnv();

}  // namespace mts
