#pragma once
// Trainer::Impl: everything one Trainer::run() session holds (not a public header). Its set-up,
// loop and reports are in trainer.cpp; one optimizer step in trainer_steps.cpp.
// Threading: lives on run()'s thread only.
#include <cmath>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "mts/core/corpus/data_loader.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/train/checkpoint.h"
#include "mts/core/train/grad_scaler.h"
#include "mts/core/train/lr_schedule.h"
#include "mts/core/train/optimizers.h"
#include "mts/core/train/run_dir.h"
#include "mts/core/train/trainer.h"
#include "train/trainer_data_parallel.h"

namespace mts {

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Everything one run() holds; lives only during run().
struct Trainer::Impl {
    Trainer& owner;
    TrainConfig cfg;
    TrainResult result;
    torch::Device device = torch::kCPU;
    TrainData data;
    LanguageModel model;
    std::unique_ptr<Optimizer> optimizer;
    std::unique_ptr<RunDir> run;  // null on data-parallel ranks other than 0 (one writer)
    std::unique_ptr<detail::DataParallel> dp;  // null when training alone
    detail::StepAgreement agreed;              // data parallel: what the ranks agreed after the last step
    std::unique_ptr<RunDir> resumedRun;  // a resumed run's folder, locked before its checkpoint loads
    TrainerState st;
    GradScaler scaler;  // fp16 only; its state mirrored in st.lossScale / st.goodStepsSinceScale
    LrSchedule schedule;
    std::deque<std::pair<double, int64_t>> window;  // (seconds, tokens) of recent steps
    std::deque<double> recentLosses;
    double sessionTrainSec = 0.0;
    int64_t sessionTokens = 0;
    int64_t sessionSteps = 0;
    double lastCheckpointAt = 0.0;  // now() at the session start or the last checkpoint

    explicit Impl(Trainer& t) : owner(t), cfg(t.m_config) {}

    double now() const {
        return owner.m_clock ? owner.m_clock()
                             : std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    }

    void log(const std::string& line) {
        if (owner.m_callbacks.onLog) owner.m_callbacks.onLog(line);
    }
    void warn(const std::string& line) {
        result.warnings.push_back(line);
        if (owner.m_callbacks.onWarning) owner.m_callbacks.onWarning(line);
    }

    // Set-up, in order: device and precision, the data (and the model it continues, if any),
    // then either the checkpoint's model and optimizer or a new/fine-tuned model, then the run
    // folder's config, schedule and status.
    void setUp();
    void chooseDevice();
    void makePathsAbsolute();
    void checkCancel(const char* stage) const;  // throws Cancelled when cancel() was called
    std::shared_ptr<Tokenizer> loadStartingPoint(LoadedCheckpoint& ck, LoadedModel& init);
    void openData(const std::shared_ptr<Tokenizer>& modelTokenizer);
    void resumeFrom(LoadedCheckpoint& ck);
    void startNewRun(LoadedModel& init);
    void finishSetUp();

    void writeStatus(const std::string& state);

    // One optimizer step: forward/backward over the micro-batches, then the update (or a skip),
    // then the progress report and metrics line.
    bool trainStep();  // false: stop (result.stopReason set)
    double lrFactor(int64_t stepIndex) const;
    struct Accumulated {
        bool finite = true;
        double lossSum = 0.0;  // sum of the micro-batches' losses
    };
    // Sparse models' load-balancing loss of the last step (mean over micro-batches), added to
    // the training loss and logged apart as aux_loss; NaN for models without one.
    double stepAuxLoss = std::nan("");
    Accumulated forwardBackward(int64_t stepIndex, double scale);
    void applyOrSkip(bool finite, bool overflow, double norm, double lrFactor, TrainProgress& p);
    void updateScaler(bool foundInf);  // scaler.update + its state into st
    static std::vector<torch::Tensor> paramTensors(const Optimizer& opt);
    double recordTiming(double seconds, int64_t stepTokens);  // -> tokens/s over recent steps
    void reportStep(TrainProgress& p, bool finite, double loss, double norm, double lrFactor, double tokensPerSec);
    bool stopOnNonFinite();  // true: too many non-finite steps in a row (result set)

    // The session loop's pieces (run() = setUp, loop, finishSession).
    bool stopBeforeStep();  // max steps, time limit, pause, cancel
    void afterStep(bool& stop, int64_t& lastEval, int64_t& lastCkpt);
    void finishSession(int64_t lastEval, int64_t lastCkpt);
    TrainResult finish();
    // False when cancel() came during it (single process: read between batches): nothing is
    // recorded, the run ends as cancelled.
    bool evaluate(bool& stop);
    void samples();
    void checkpoint(bool best);
    // checkpoint_every steps or checkpoint_minutes since the last checkpoint, whichever comes first.
    bool checkpointDue() const;
    // Data-parallel ranks follow rank 0's clock, so they stop and schedule alike.
    double clockSec() const { return dp ? agreed.elapsedSec : st.elapsedSec; }
    std::string lastCompleteCheckpoint() const;  // for failure messages
    bool timeUp() const { return cfg.maxMinutes > 0 && clockSec() >= cfg.maxMinutes * 60.0; }
};

}  // namespace mts
