#pragma once
// The trainer's data-parallel hook points (not a public header): what a rank does differently
// from a lone process. trainer.cpp calls these at a few places and is otherwise unchanged.
//
// Agreement: everything that decides the control flow (the step's loss and finiteness, a
// cancel or pause request, the elapsed time that drives max_minutes and the time-based LR
// schedule) is summed over the ranks once per step in the same all-reduce, so every rank takes
// the same branch and issues the same collectives. Validation is sharded over the ranks and
// summed, so early stopping decides alike everywhere. Only rank 0 writes (run folder, samples,
// checkpoints).
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mts/core/corpus/data_loader.h"
#include "mts/core/model/language_model.h"
#include "mts/core/train/checkpoint.h"
#include "mts/core/train/distributed.h"
#include "mts/core/train/optimizers.h"
#include "mts/core/train/train_config.h"

namespace mts::detail {

/// What the ranks agreed on after a step.
struct StepAgreement {
    double lossSum = 0.0;     // sum over ranks of their micro-batch losses / worldSize
    bool finite = true;       // every rank's loss was finite
    bool cancel = false;      // some rank asked to stop
    bool pause = false;       // some rank asked to pause
    double elapsedSec = 0.0;  // rank 0's training time (the clock every rank follows)
};

/// On resume with `worldSize` ranks (1 = alone): keeps the checkpoint's global batch
/// (st.worldSize x gradAccum x microBatch rows) by changing gradAccum, and logs the change;
/// ConfigError when worldSize does not divide it. Then records worldSize in the state.
void adoptWorldSize(TrainConfig& cfg, TrainerState& st, int64_t worldSize,
                    const std::function<void(const std::string&)>& log);

class DataParallel {
public:
    /// Null when options.enabled is false. Picks cuda:localRank for CUDA, joins the group
    /// (DistributedError on failure) and logs the ranks.
    static std::unique_ptr<DataParallel> start(const DistributedOptions& options, torch::Device& device,
                                               const std::function<void(const std::string&)>& log);

    int rank() const { return m_rank; }
    int worldSize() const { return m_worldSize; }
    bool writer() const { return rank() == 0; }

    /// After a DistributedError: lets go of the group without closing it (closing waits for
    /// queued collectives, each of which would wait out the timeout against a hung rank).
    void abandon();

    /// After the model and optimizer exist: rank 0's parameters and buffers to every rank, and
    /// the gradient reducer over the optimizer's parameters.
    void attach(LanguageModelImpl& model, const Optimizer& optimizer);

    /// First global row of micro-batch m of this rank (rank r takes micro-batches
    /// r*gradAccum .. r*gradAccum+gradAccum-1 of the global step, as one process would).
    int64_t firstRow(int64_t micro, const TrainConfig& cfg) const {
        return (static_cast<int64_t>(rank()) * cfg.gradAccum + micro) * cfg.microBatch;
    }
    void beforeLastBackward() { m_reducer->prepare(); }
    /// Averaged gradients in .grad, then the step's agreement (one more small all-reduce).
    StepAgreement finishStep(double localLossSum, bool localFinite, bool cancel, bool pause, double rankZeroElapsed);
    /// While the ranks agreed to pause: all ranks poll the flags every 200 ms (so none times
    /// out) until no rank asks to pause any more or one asks to cancel. Returns the last flags.
    StepAgreement waitWhilePaused(const std::function<bool()>& pauseRequested,
                                  const std::function<bool()>& cancelRequested);

    /// Mean validation loss over `batches` batches, each rank evaluating every worldSize-th.
    double evaluateLoss(LanguageModelImpl& model, const TokenStream& val, int64_t batches, int64_t rows,
                        int64_t seqLen, const torch::Device& device, Precision precision);

    /// Adds world_size, the ranks and the last exposed all-reduce time to a JSON object.
    void describe(nlohmann::json& j, bool withRanks) const;
    const ReduceStats& reduceStats() const { return m_reducer->stats(); }  // only before abandon()

private:
    // Kept after abandon() (which lets go of the group): the run status still names the ranks.
    int m_rank = 0;
    int m_worldSize = 1;
    nlohmann::json m_ranks;
    double m_lastExposedSec = 0.0;
    std::unique_ptr<DataParallelGroup> m_group;
    std::unique_ptr<GradientReducer> m_reducer;
};

}  // namespace mts::detail
