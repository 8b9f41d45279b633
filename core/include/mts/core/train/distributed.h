#pragma once
// Data-parallel training on LibTorch's c10d (the engine behind PyTorch's DDP): every rank holds
// the whole model, trains on its own rows of each global batch, and gradients are averaged
// over the ranks before the optimizer step.
//
//   auto opts = mts::distributedOptionsFromEnv();         // torchrun / Slurm variables, or
//   opts = launcher.rankZeroOptions();                    // `train --nproc N` (distributed_launch.h)
//   TrainStart start; start.distributed = opts;           // the Trainer joins the group itself
//
// Pieces, usable on their own (the `bench train --nproc` benchmark does):
//   DataParallelGroup  the rendezvous (a TCPStore on MASTER_ADDR:MASTER_PORT) and a process
//                      group: Gloo for CPU tensors, NCCL for CUDA ones where LibTorch has it.
//   GradientReducer    averages gradients in buckets that are all-reduced while the backward
//                      pass is still running (autograd post-accumulation hooks, as DDP does).
//
// Rules every rank must keep (else all ranks wait until the timeout): the same collectives in
// the same order with the same sizes. Threading: one thread drives a group and its reducer
// (the reducer's hooks run on the autograd thread during backward()).
// Failure: a rank that dies closes its connections, one that hangs makes collectives time out
// (DistributedOptions::timeoutSec); both surface as DistributedError on the other ranks.
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mts/core/train/distributed_options.h"

namespace mts {
namespace compat {
class CommGroup;
class CommStore;
class CommWork;
}  // namespace compat

/// A rank died, hung past the timeout, or could not join. what() says which and what to do.
class DistributedError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One rank's identity as exchanged at the rendezvous.
struct RankInfo {
    int rank = 0;
    std::string host;
    int64_t pid = 0;
};

/// A joined process group. Created by every rank; collectives block the calling thread.
class DataParallelGroup {
public:
    /// Joins: connects to (rank 0 without storeHosted: hosts) the store, waits for all ranks
    /// (DistributedError after timeoutSec, or at once when options.peerExited answers), then
    /// creates the process group. backend "auto": NCCL when `device` is CUDA, else Gloo.
    static std::unique_ptr<DataParallelGroup> join(const DistributedOptions& options, const torch::Device& device);
    ~DataParallelGroup();

    int rank() const { return m_rank; }
    int worldSize() const { return m_worldSize; }
    const std::string& backend() const;
    const DistributedOptions& options() const { return m_options; }
    /// Every rank's host and pid (the same list on every rank).
    const std::vector<RankInfo>& ranks() const { return m_ranks; }

    /// Copies rank 0's values into these tensors on every rank (parameters, buffers). In place.
    void broadcastFromRankZero(const std::vector<torch::Tensor>& tensors);
    /// Element-wise sum over ranks of a few doubles (blocking). `what` names it in errors.
    std::vector<double> sum(const std::vector<double>& values, const std::string& what);

    /// For the reducer: the process group and the device collectives run on.
    compat::CommGroup& comm() { return *m_comm; }
    const torch::Device& device() const { return m_device; }
    /// "data parallel: rank R of W: <what> failed: <cause> (a rank died or hung, timeout T s)".
    DistributedError error(const std::string& what, const std::exception& cause) const;

private:
    DataParallelGroup() = default;
    DistributedOptions m_options;
    int m_rank = 0;
    int m_worldSize = 1;
    torch::Device m_device = torch::kCPU;
    std::shared_ptr<compat::CommStore> m_store;
    std::unique_ptr<compat::CommGroup> m_comm;
    std::vector<RankInfo> m_ranks;
};

/// Figures of the last reduced backward pass.
struct ReduceStats {
    int64_t buckets = 0;
    int64_t bytes = 0;              // gradient bytes all-reduced by this rank per step
    int64_t launchedInBackward = 0; // buckets launched from hooks while backward was running
    double exposedSec = 0.0;        // finish(): waiting and averaging after backward returned
};

/// Averages the gradients of `params` over the group, DDP-style. Usage per optimizer step:
///   reducer.prepare();   // before the backward pass that completes the step's gradients
///   loss.backward();     // hooks launch each bucket's all-reduce as soon as it is complete
///   reducer.finish();    // launches what is left, waits, writes the averages into .grad
/// Earlier backward passes of the step (gradient accumulation) run without prepare(): their
/// gradients accumulate locally, like DDP's no_sync().
/// Buckets hold parameters in reverse registration order (roughly the order backward produces
/// them) and are launched strictly in bucket order, so every rank issues the same collectives
/// in the same order. A parameter whose gradient stays undefined counts as zero.
class GradientReducer {
public:
    GradientReducer(DataParallelGroup& group, std::vector<torch::Tensor> params);
    ~GradientReducer();
    GradientReducer(const GradientReducer&) = delete;
    GradientReducer& operator=(const GradientReducer&) = delete;

    void prepare();
    /// Throws DistributedError when a collective fails.
    void finish();
    const ReduceStats& stats() const { return m_stats; }

private:
    struct Bucket;
    void onReady(size_t param);
    void launch(size_t bucket);
    void launchInOrder();

    DataParallelGroup& m_group;
    std::vector<torch::Tensor> m_params;
    std::vector<size_t> m_bucketOf;              // param -> bucket
    std::vector<std::unique_ptr<Bucket>> m_buckets;
    std::vector<std::shared_ptr<void>> m_hooks;
    std::vector<char> m_paramReady;
    size_t m_nextLaunch = 0;
    bool m_armed = false;
    bool m_inBackward = false;
    std::string m_hookError;                     // set on the autograd thread, thrown by finish()
    ReduceStats m_stats;
};

}  // namespace mts
