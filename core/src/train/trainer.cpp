#include "mts/core/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <fstream>
#include <limits>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mts/core/corpus/data_loader.h"
#include "mts/core/kernels/selective_scan.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/durable_file.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/runtime.h"
#include "mts/core/runtime/torch_compat.h"
#include "mts/core/train/checkpoint.h"
#include "mts/core/train/lr_schedule.h"
#include "mts/core/train/run_dir.h"
#include "train/trainer_data_parallel.h"
#include "train/trainer_internal.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mts {

namespace {
// The run.json status of a run that ended for reason r.
std::string finalStatus(TrainStopReason r) {
    switch (r) {
        case TrainStopReason::MaxSteps:
        case TrainStopReason::TimeLimit:
        case TrainStopReason::TargetLoss: return "finished";
        case TrainStopReason::EarlyStopping: return "stopped early";
        case TrainStopReason::Cancelled: return "cancelled";
        case TrainStopReason::NonFinite: return "stopped: non-finite loss";
        case TrainStopReason::Failed: return "failed";
        case TrainStopReason::RankFailed: return "failed: a rank died or hung";
    }
    return "failed";
}
}  // namespace

std::string toString(TrainStopReason r) {
    switch (r) {
        case TrainStopReason::MaxSteps: return "max_steps";
        case TrainStopReason::TimeLimit: return "time_limit";
        case TrainStopReason::Cancelled: return "cancelled";
        case TrainStopReason::EarlyStopping: return "early_stopping";
        case TrainStopReason::TargetLoss: return "target_loss";
        case TrainStopReason::NonFinite: return "non_finite";
        case TrainStopReason::RankFailed: return "rank_failed";
        default: return "failed";
    }
}

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

// Everything one run() holds; lives only during run().
struct Trainer::Impl {
    Trainer& owner;
    TrainConfig cfg;
    TrainResult result;
    torch::Device device = torch::kCPU;
    TrainData data;
    LanguageModel model;
    std::unique_ptr<Optimizer> optimizer;
    std::unique_ptr<RunDir> run;          // null on data-parallel ranks other than 0 (one writer)
    std::unique_ptr<detail::DataParallel> dp;  // null when training alone
    detail::StepAgreement agreed;         // data parallel: what the ranks agreed after the last step
    TrainerState st;
    LrSchedule schedule;
    std::deque<std::pair<double, int64_t>> window;  // (seconds, tokens) of recent steps
    std::deque<double> recentLosses;
    double sessionTrainSec = 0.0;
    int64_t sessionTokens = 0;
    int64_t sessionSteps = 0;

    explicit Impl(Trainer& t) : owner(t), cfg(t.m_config) {}

    void log(const std::string& line) {
        if (owner.m_callbacks.onLog) owner.m_callbacks.onLog(line);
    }
    void warn(const std::string& line) {
        result.warnings.push_back(line);
        if (owner.m_callbacks.onWarning) owner.m_callbacks.onWarning(line);
    }

    void setUp();
    void writeStatus(const std::string& state);
    bool trainStep();  // false: stop (result.stopReason set)
    void evaluate(bool& stop);
    void samples();
    void checkpoint(bool best);
    // Data-parallel ranks follow rank 0's clock, so they stop and schedule alike.
    double clockSec() const { return dp ? agreed.elapsedSec : st.elapsedSec; }
    std::string lastCompleteCheckpoint() const;
    bool timeUp() const { return cfg.maxMinutes > 0 && clockSec() >= cfg.maxMinutes * 60.0; }
};

// For failure messages: the checkpoint a resume would continue from.
std::string Trainer::Impl::lastCompleteCheckpoint() const {
    if (!run) return "the last complete checkpoint is in rank 0's run folder";
    try {
        return "the last complete checkpoint is " + resolveCheckpointDir(run->path()).string();
    } catch (const std::exception&) {
        return "no checkpoint was saved yet";
    }
}

void Trainer::Impl::setUp() {
    const bool resuming = !owner.m_start.resumeFrom.empty();
    cfg.validate();

    if (cfg.device == "cuda" && !compat::cudaAvailable())
        throw ConfigError("device: cuda requested but no CUDA device is available");
    device = (cfg.device == "cuda" || (cfg.device == "auto" && compat::cudaAvailable())) ? torch::Device(torch::kCUDA)
                                                                                        : torch::Device(torch::kCPU);
    if (cfg.precision == Precision::Fp16 && !device.is_cuda()) {
        warn("fp16 with loss scaling needs CUDA; training in bf16 autocast on the CPU instead");
        cfg.precision = Precision::Bf16;
    }
    if (cfg.precision == Precision::Bf16 && !device.is_cuda() && !runtimeInfo().cpuBf16)
        warn("bf16 on a CPU without avx512_bf16/AMX is emulated and slower than fp32");
    if (cfg.threads > 0) at::set_num_threads(cfg.threads);
    dp = detail::DataParallel::start(owner.m_start.distributed, device, [this](const std::string& l) { log(l); });

    // Relative data paths would break a resume from another working directory.
    std::error_code ec;
    fs::path dataPath = fs::absolute(cfg.data, ec);
    if (!ec) cfg.data = dataPath.lexically_normal().string();
    // The model's own tokenizer reads text data when there is a model to continue: a resumed
    // checkpoint, or the pretrained model of a fine-tuning run.
    LoadedCheckpoint ck;
    LoadedModel init;
    std::shared_ptr<Tokenizer> modelTokenizer;
    if (resuming) {
        ck = readCheckpoint(owner.m_start.resumeFrom, device);
        modelTokenizer = ck.model.tokenizer;
    } else if (!cfg.initFrom.empty()) {
        fs::path initPath = fs::absolute(cfg.initFrom, ec);
        if (!ec) cfg.initFrom = initPath.lexically_normal().string();
        init = loadModel(cfg.initFrom, device);
        modelTokenizer = init.tokenizer;
    }
    data = openTrainData(cfg.data, cfg.valFraction, cfg.seqLen, modelTokenizer);
    log(data.description);
    if (modelTokenizer && !sameTokenizer(*data.tokenizer, *modelTokenizer))
        throw ConfigError(fmt::format("data: {} was tokenized with a {} tokenizer of {} ids, not the model's own "
                                      "({} tokenizer of {} ids): build the corpus with the model's tokenizer, or "
                                      "train on the text files directly",
                                      cfg.data, data.tokenizer->kind(), data.tokenizer->vocabSize(),
                                      modelTokenizer->kind(), modelTokenizer->vocabSize()));

    if (resuming) {
        if (ck.config.model.toJson() != cfg.model.toJson() && !cfg.model.toJson().empty())
            log("resume: the model config comes from the checkpoint");
        cfg.model = ck.config.model;
        if (data.tokenizer->vocabSize() > cfg.model.vocabSize)
            throw ConfigError(fmt::format("data: the tokenizer has {} ids but the checkpoint's model only {}",
                                          data.tokenizer->vocabSize(), cfg.model.vocabSize));
        model = ck.model.model;
        model->to(device);
        model->train();
        st = ck.state;
        detail::adoptWorldSize(cfg, st, dp ? dp->worldSize() : 1, [this](const std::string& l) { log(l); });
        if (st.dataSeed != cfg.seed) {
            warn(fmt::format("seed changed from {} to {}: the resumed run keeps the checkpoint's data order",
                             st.dataSeed, cfg.seed));
            cfg.seed = st.dataSeed;
        }
        std::string summary;
        optimizer = detail::buildOptimizer(*model, cfg, summary);
        if (ck.config.optimizer != cfg.optimizer)
            throw ConfigError("optimizer: the checkpoint was trained with " + toString(ck.config.optimizer) +
                              "; resuming with " + toString(cfg.optimizer) + " is not supported");
        try {
            optimizer->loadStateDict(ck.optimizerState);
        } catch (const std::exception& e) {
            throw FormatError(ck.dir.string(), e.what());
        }
        if (ck.cpuRngState.defined()) {
            auto gen = at::detail::getDefaultCPUGenerator();
            std::lock_guard<std::mutex> lock(gen.mutex());
            gen.set_state(ck.cpuRngState);
        }
        if (!dp || dp->writer()) run = std::make_unique<RunDir>(RunDir::open(ck.dir.parent_path().parent_path()));
        log(fmt::format("resumed from {} at step {}", ck.dir.string(), st.step));
        if (cfg.maxSteps > 0 && st.step >= cfg.maxSteps)
            warn(fmt::format("the checkpoint is already at step {} of max_steps {}: nothing to train", st.step,
                             cfg.maxSteps));
    } else {
        // Whether the model (as configured now) has a learned table of maxSeqLen positions.
        auto positionTable = [this] {
            return (cfg.model.arch == Architecture::Transformer || cfg.model.arch == Architecture::Attention1) &&
                   cfg.model.positions == "learned";
        };
        torch::manual_seed(cfg.seed);
        if (init.model) {
            // Fine-tuning: architecture, sizes and vocabulary are the pretrained model's.
            cfg.model = init.model->config();
            if (positionTable() && cfg.model.maxSeqLen < cfg.seqLen)
                throw ConfigError(fmt::format("seq_len: {} is longer than the pretrained model's {} positions",
                                              cfg.seqLen, cfg.model.maxSeqLen));
            model = init.model;
            log(fmt::format("fine-tuning {} ({} layout, stored {})", init.dir.string(), init.layout,
                            init.storedDtype));
        } else {
            cfg.model.vocabSize = data.tokenizer->vocabSize();
            if (positionTable() && cfg.model.maxSeqLen < cfg.seqLen) {
                log(fmt::format("model.max_seq_len raised from {} to seq_len {}", cfg.model.maxSeqLen, cfg.seqLen));
                cfg.model.maxSeqLen = cfg.seqLen;
            }
            cfg.model.validate();
            model = createModel(cfg.model);
        }
        model->to(device);
        model->train();
        std::string summary;
        optimizer = detail::buildOptimizer(*model, cfg, summary);
        log(summary);
        st.dataSeed = cfg.seed;
        st.worldSize = dp ? dp->worldSize() : 1;
        st.lossScale = cfg.precision == Precision::Fp16 ? cfg.fp16InitScale : 1.0;
        fs::path runsDir = owner.m_start.runsDir.empty() ? defaultRunsDir() : owner.m_start.runsDir;
        if (!dp || dp->writer())
            run = std::make_unique<RunDir>(RunDir::create(runsDir, owner.m_start.name, toString(cfg.model.arch)));
    }
    if (cfg.precision != Precision::Fp16) st.lossScale = 1.0;
    model->setGradientCheckpointing(cfg.gradCheckpointing);
    if (dp) dp->attach(*model, *optimizer);
    agreed.elapsedSec = st.elapsedSec;
    result.numParameters = model->numParameters();
    if (run) {
        result.runDir = run->path();
        run->writeConfig(cfg.toJson());
        if (auto w = pruneCheckpoints(run->checkpointsDir(), cfg.keepLast); !w.empty()) warn(w);
    }

    schedule.warmupSteps = cfg.warmupSteps;
    schedule.totalSteps = cfg.maxSteps;
    schedule.minRatio = cfg.minLrRatio;
    log(fmt::format("{} model, {} parameters, {} on {}{}, run folder {}", toString(cfg.model.arch),
                    result.numParameters, toString(cfg.precision), device.is_cuda() ? "CUDA" : "CPU",
                    cfg.model.arch == Architecture::Mamba ? ", scan: " + describeScanBackend(device) : "",
                    run ? run->path().string() : "on rank 0"));
    writeStatus("running");
}

// run.json: what the run is doing now, for the studio's Runs page and for scripts. Written
// atomically at start, pause/resume, each checkpoint and the end; "running" with a pid that no
// longer exists means the process was killed. A failure to write it is a warning, never fatal.
void Trainer::Impl::writeStatus(const std::string& state) {
    if (!run) return;
    json j{{"status", state},
           {"step", st.step},
           {"tokens", st.tokensSeen},
           {"elapsed_sec", st.elapsedSec},
           {"params", result.numParameters},
           {"non_embedding_params", model ? model->numNonEmbeddingParameters() : 0},
           {"arch", toString(cfg.model.arch)},
           {"pid", static_cast<int64_t>(::getpid())},
           {"updated_unix", std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count()}};
    if (state != "running" && state != "paused") {
        j["stop_reason"] = toString(result.stopReason);
        j["message"] = result.message;
    }
    if (st.bestStep >= 0) {
        j["best_val_loss"] = st.bestValLoss;
        j["best_step"] = st.bestStep;
    }
    if (!result.lastCheckpoint.empty()) j["last_checkpoint"] = result.lastCheckpoint.filename().string();
    if (dp) dp->describe(j, /*withRanks=*/true);
    try {
        writeFileAtomic(run->path() / "run.json", j.dump(2) + "\n");
    } catch (const std::exception& e) {
        warn(std::string("could not update run.json: ") + e.what());
    }
}

bool Trainer::Impl::trainStep() {
    auto t0 = Clock::now();
    const int64_t stepIndex = st.step;  // 0-based index of the step being taken
    double lrFactor = cfg.maxSteps > 0 || cfg.maxMinutes <= 0
                          ? schedule.factor(stepIndex)
                          : schedule.factorAtProgress(stepIndex, clockSec() / (cfg.maxMinutes * 60.0));
    const bool fp16 = cfg.precision == Precision::Fp16;
    const double scale = fp16 ? st.lossScale : 1.0;

    bool finite = true;
    double lossSum = 0.0;
    const bool injectNan =
        std::find(cfg.debugNanSteps.begin(), cfg.debugNanSteps.end(), stepIndex + 1) != cfg.debugNanSteps.end();
    for (int64_t m = 0; m < cfg.gradAccum; ++m) {
        const int64_t firstRow = dp ? dp->firstRow(m, cfg) : m * cfg.microBatch;
        auto windows = trainBatch(data.train, st.dataSeed, stepIndex, firstRow, cfg.microBatch, cfg.seqLen);
        auto loss = detail::windowLoss(*model, windows, device, cfg.precision);
        if (injectNan) loss = loss * std::numeric_limits<double>::quiet_NaN();
        const double value = loss.item<double>();
        if (!std::isfinite(value)) {
            finite = false;
            if (!dp) break;  // ranks go on: the others wait for this rank's gradients
        }
        lossSum += value;
        if (dp && m + 1 == cfg.gradAccum) dp->beforeLastBackward();
        (loss * (scale / static_cast<double>(cfg.gradAccum))).backward();
    }
    if (dp) {
        agreed = dp->finishStep(lossSum, finite, owner.m_cancelRequested, owner.m_pauseRequested,
                                st.elapsedSec + secondsSince(t0));
        lossSum = agreed.lossSum;
        finite = agreed.finite;
    }
    const int64_t stepTokens = cfg.gradAccum * cfg.microBatch * cfg.seqLen * (dp ? dp->worldSize() : 1);
    double norm = 0.0;
    bool overflow = false;
    if (finite) {
        if (scale != 1.0) scaleGrads(optimizer->params(), 1.0 / scale);
        norm = gradNorm(optimizer->params());
        if (!std::isfinite(norm)) {
            if (fp16) overflow = true;
            finite = false;
        }
    }

    TrainProgress p;
    if (finite) {
        if (cfg.gradClip > 0 && norm > cfg.gradClip) scaleGrads(optimizer->params(), cfg.gradClip / norm);
        optimizer->step(lrFactor);
        st.nonFiniteInARow = 0;
        if (fp16 && ++st.goodStepsSinceScale >= cfg.fp16GrowthInterval) {
            st.lossScale *= 2.0;
            st.goodStepsSinceScale = 0;
        }
    } else {
        ++st.skippedSteps;
        p.skipped = true;
        if (overflow) {
            // An fp16 overflow is the loss scaler doing its job: halve and go on.
            st.lossScale = std::max(1.0, st.lossScale / 2.0);
            st.goodStepsSinceScale = 0;
        } else {
            ++st.nonFiniteInARow;
            warn(fmt::format("step {}: non-finite {} - step skipped ({} in a row)", stepIndex + 1,
                             std::isfinite(lossSum) && norm == 0.0 ? "loss" : "gradients", st.nonFiniteInARow));
        }
    }
    optimizer->zeroGrad();
    ++st.step;
    st.tokensSeen += stepTokens;

    const double dt = secondsSince(t0);
    st.elapsedSec += dt;
    sessionTrainSec += dt;
    sessionTokens += stepTokens;
    ++sessionSteps;
    window.emplace_back(dt, stepTokens);
    if (window.size() > 20) window.pop_front();
    double wSec = 0;
    int64_t wTok = 0;
    for (auto& [s, t] : window) {
        wSec += s;
        wTok += t;
    }

    const double loss = finite ? lossSum / static_cast<double>(cfg.gradAccum) : std::nan("");
    if (finite) {
        recentLosses.push_back(loss);
        if (static_cast<int64_t>(recentLosses.size()) > cfg.logEvery) recentLosses.pop_front();
    }
    p.step = st.step;
    p.maxSteps = cfg.maxSteps;
    p.tokensSeen = st.tokensSeen;
    p.loss = loss;
    p.lr = cfg.lr * lrFactor;
    p.gradNorm = norm;
    p.tokensPerSec = wSec > 0 ? static_cast<double>(wTok) / wSec : 0.0;
    p.elapsedSec = st.elapsedSec;
    const double perStep = sessionSteps > 0 ? sessionTrainSec / static_cast<double>(sessionSteps) : 0.0;
    double eta = -1.0;
    if (cfg.maxSteps > 0) eta = perStep * static_cast<double>(cfg.maxSteps - st.step);
    if (cfg.maxMinutes > 0) {
        double left = std::max(0.0, cfg.maxMinutes * 60.0 - st.elapsedSec);
        eta = eta < 0 ? left : std::min(eta, left);
    }
    p.etaSec = eta;
    p.lossScale = st.lossScale;
    p.skippedSteps = st.skippedSteps;
    if (owner.m_callbacks.onProgress) owner.m_callbacks.onProgress(p);

    if (st.step % cfg.logEvery == 0 || p.skipped) {
        json line{{"type", "train"},        {"step", st.step},       {"tokens", st.tokensSeen},
                  {"lr", p.lr},             {"grad_norm", norm},     {"tokens_per_sec", p.tokensPerSec},
                  {"elapsed_sec", p.elapsedSec}, {"skipped", p.skipped}};
        line["loss"] = finite ? json(loss) : json(nullptr);
        if (fp16) line["loss_scale"] = st.lossScale;
        if (dp) dp->describe(line, /*withRanks=*/false);
        if (run) run->appendMetric(line);
    }

    if (st.nonFiniteInARow >= cfg.maxNonFinite) {
        result.stopReason = TrainStopReason::NonFinite;
        result.message = fmt::format(
            "stopped at step {}: {} steps in a row had a non-finite loss or gradients (the learning rate may be too "
            "high, or the data may hold a bad batch); the last good checkpoint is {}",
            st.step, st.nonFiniteInARow, result.lastCheckpoint.empty() ? "none" : result.lastCheckpoint.string());
        return false;
    }
    return true;
}

void Trainer::Impl::evaluate(bool& stop) {
    EvalReport r;
    r.step = st.step;
    r.tokensSeen = st.tokensSeen;
    r.valLoss = dp ? dp->evaluateLoss(*model, data.val, cfg.evalBatches, cfg.microBatch, cfg.seqLen, device,
                                      cfg.precision)
                   : detail::evaluateLoss(*model, data.val, cfg.evalBatches, cfg.microBatch, cfg.seqLen, device,
                                          cfg.precision);
    r.perplexity = std::exp(std::min(r.valLoss, 80.0));
    r.natsPerByte = r.valLoss / data.bytesPerToken;
    r.bitsPerByte = r.natsPerByte / std::log(2.0);
    st.lastValLoss = r.valLoss;
    st.lastEvalStep = st.step;
    if (std::isfinite(r.valLoss) && (st.bestStep < 0 || r.valLoss < st.bestValLoss)) {
        st.bestValLoss = r.valLoss;
        st.bestStep = st.step;
        st.evalsWithoutImprovement = 0;
        r.best = true;
    } else {
        ++st.evalsWithoutImprovement;
    }
    result.finalValLoss = r.valLoss;
    result.finalBitsPerByte = r.bitsPerByte;
    result.bestValLoss = st.bestStep >= 0 ? st.bestValLoss : -1.0;
    if (run)
        run->appendMetric(json{{"type", "eval"},
                           {"step", r.step},
                           {"tokens", r.tokensSeen},
                           {"val_loss", r.valLoss},
                           {"perplexity", r.perplexity},
                           {"nats_per_byte", r.natsPerByte},
                           {"bits_per_byte", r.bitsPerByte},
                           {"best", r.best},
                           {"elapsed_sec", st.elapsedSec}});
    if (owner.m_callbacks.onEval) owner.m_callbacks.onEval(r);
    if (r.best && cfg.keepBest) checkpoint(true);
    if (cfg.stopAtLoss > 0 && r.valLoss <= cfg.stopAtLoss) {
        result.stopReason = TrainStopReason::TargetLoss;
        result.message = fmt::format("validation loss {:.4f} reached the target {:.4f} at step {}", r.valLoss,
                                     cfg.stopAtLoss, st.step);
        stop = true;
    } else if (cfg.earlyStoppingPatience > 0 && st.evalsWithoutImprovement >= cfg.earlyStoppingPatience) {
        result.stopReason = TrainStopReason::EarlyStopping;
        result.message = fmt::format("no validation improvement in {} evaluations (best {:.4f} at step {})",
                                     st.evalsWithoutImprovement, st.bestValLoss, st.bestStep);
        stop = true;
    }
}

void Trainer::Impl::samples() {
    if (!run) return;  // data parallel: rank 0 samples
    for (size_t i = 0; i < cfg.samplePrompts.size(); ++i) {
        SampleReport s;
        s.step = st.step;
        s.prompt = cfg.samplePrompts[i];
        s.text = detail::sampleText(*model, *data.tokenizer, s.prompt, cfg.sampleTokens, cfg.sampleTemperature,
                                    cfg.seed * 1000003ULL + static_cast<uint64_t>(st.step) * 31 + i);
        run->appendSample(json{{"step", s.step}, {"prompt", s.prompt}, {"text", s.text}});
        if (owner.m_callbacks.onSample) owner.m_callbacks.onSample(s);
    }
}

void Trainer::Impl::checkpoint(bool best) {
    if (!run) return;  // data parallel: rank 0 writes
    CheckpointWrite w;
    w.config = &cfg;
    w.state = &st;
    w.model = model.get();
    w.tokenizer = data.tokenizer.get();
    w.optimizer = optimizer.get();
    w.debugDelayMs = cfg.debugCheckpointDelayMs;
    const bool was = model->is_training();
    fs::path dir = writeCheckpoint(run->checkpointsDir(), w);
    model->train(was);
    result.lastCheckpoint = dir;
    if (best) {
        markBestCheckpoint(run->checkpointsDir(), dir.filename().string());
        result.bestCheckpoint = dir;
    }
    if (auto warning = pruneCheckpoints(run->checkpointsDir(), cfg.keepLast); !warning.empty()) warn(warning);
    if (owner.m_callbacks.onCheckpoint) owner.m_callbacks.onCheckpoint(CheckpointReport{st.step, dir, best});
    writeStatus("running");
}

Trainer::Trainer(TrainConfig config, TrainStart start, TrainCallbacks callbacks)
    : m_config(std::move(config)), m_start(std::move(start)), m_callbacks(std::move(callbacks)) {}

Trainer::~Trainer() = default;

void Trainer::pause() { m_pauseRequested = true; }

void Trainer::resume() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_pauseRequested = false;
    }
    m_cv.notify_all();
}

void Trainer::cancel() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_cancelRequested = true;
    }
    m_cv.notify_all();
}

double Trainer::waitWhilePaused() {
    auto t0 = Clock::now();
    std::unique_lock<std::mutex> lock(m_mutex);
    m_cv.wait(lock, [this] { return !m_pauseRequested.load() || m_cancelRequested.load(); });
    return secondsSince(t0);
}

TrainConfig Trainer::resumeConfig(const fs::path& runOrCheckpoint) {
    fs::path dir = resolveCheckpointDir(runOrCheckpoint);
    std::ifstream in(dir / "trainer_state.json");
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("train_config"))
        throw FormatError((dir / "trainer_state.json").string(), "not a valid trainer state");
    try {
        return TrainConfig::fromJson(j.at("train_config"));
    } catch (const std::exception& e) {
        throw FormatError((dir / "trainer_state.json").string(), e.what());
    }
}

TrainResult Trainer::run() {
    TrainResult result = runSession();
    // The session's model, optimizer state and activations are freed now; hand the memory the
    // allocator kept for reuse between steps back to the system (the studio lives on).
    releaseFreedMemory();
    return result;
}

TrainResult Trainer::runSession() {
    Impl s(*this);
    auto finish = [&]() {
        s.result.steps = s.st.step;
        s.result.tokensSeen = s.st.tokensSeen;
        s.result.elapsedSec = s.st.elapsedSec;
        s.result.skippedSteps = s.st.skippedSteps;
        s.result.tokensPerSec =
            s.sessionTrainSec > 0 ? static_cast<double>(s.sessionTokens) / s.sessionTrainSec : 0.0;
        double sum = 0;
        for (double l : s.recentLosses) sum += l;
        s.result.finalLoss = s.recentLosses.empty() ? 0.0 : sum / static_cast<double>(s.recentLosses.size());
        if (s.st.bestStep >= 0) s.result.bestValLoss = s.st.bestValLoss;
        s.result.peakRssBytes = peakRssBytes();
        s.writeStatus(finalStatus(s.result.stopReason));
        return s.result;
    };
    try {
        s.setUp();
        bool stop = false;
        int64_t lastEval = -1, lastCkpt = -1;
        while (!stop) {
            if (s.cfg.maxSteps > 0 && s.st.step >= s.cfg.maxSteps) {
                s.result.stopReason = TrainStopReason::MaxSteps;
                s.result.message = fmt::format("reached {} steps", s.cfg.maxSteps);
                break;
            }
            if (s.timeUp()) {
                s.result.stopReason = TrainStopReason::TimeLimit;
                s.result.message = fmt::format("reached the time limit of {} min", s.cfg.maxMinutes);
                break;
            }
            if (s.dp ? s.agreed.pause : m_pauseRequested.load()) {
                s.log("paused");
                s.writeStatus("paused");
                if (s.dp) {
                    s.agreed = s.dp->waitWhilePaused([this] { return m_pauseRequested.load(); },
                                                     [this] { return m_cancelRequested.load(); });
                } else {
                    waitWhilePaused();
                }
                if (!(s.dp ? s.agreed.cancel : m_cancelRequested.load())) {
                    s.log("resumed");
                    s.writeStatus("running");
                }
            }
            if (s.dp ? s.agreed.cancel : m_cancelRequested.load()) {
                s.result.stopReason = TrainStopReason::Cancelled;
                s.result.message = fmt::format("cancelled at step {}", s.st.step);
                break;
            }
            if (!s.trainStep()) return finish();
            // Evaluations, samples and checkpoints count towards max_minutes (not tokens/s).
            const auto extrasStart = Clock::now();
            if (s.cfg.evalEvery > 0 && s.st.step % s.cfg.evalEvery == 0) {
                s.evaluate(stop);
                lastEval = s.st.step;
            }
            if (!stop && s.cfg.sampleEvery > 0 && s.st.step % s.cfg.sampleEvery == 0) s.samples();
            // During a streak of non-finite steps the previous checkpoint is the good one to keep.
            if (!stop && s.cfg.checkpointEvery > 0 && s.st.step % s.cfg.checkpointEvery == 0 &&
                s.st.nonFiniteInARow == 0 &&
                s.result.lastCheckpoint.filename() != checkpointName(s.st.step)) {
                s.checkpoint(false);
                lastCkpt = s.st.step;
            }
            s.st.elapsedSec += secondsSince(extrasStart);
        }
        const bool cancelled = s.result.stopReason == TrainStopReason::Cancelled;
        if (!cancelled && lastEval != s.st.step && s.st.step > 0) {
            bool ignored = false;
            s.evaluate(ignored);
        }
        if (!cancelled && s.cfg.sampleEvery > 0 && s.st.step % s.cfg.sampleEvery != 0 && s.st.step > 0) s.samples();
        const bool nothingNew = s.sessionSteps == 0 && !m_start.resumeFrom.empty();
        if (!nothingNew && lastCkpt != s.st.step &&
            s.result.lastCheckpoint.filename() != checkpointName(s.st.step))
            s.checkpoint(false);
        if (s.run && s.st.bestStep >= 0 && s.result.bestCheckpoint.empty()) {
            fs::path best = s.run->checkpointsDir() / checkpointName(s.st.bestStep);
            if (fs::exists(best)) s.result.bestCheckpoint = best;
        }
    } catch (const DistributedError& e) {
        s.result.stopReason = TrainStopReason::RankFailed;
        s.result.message = fmt::format("{} at step {}; {}", e.what(), s.st.step, s.lastCompleteCheckpoint());
        // Collectives still queued would each wait out the timeout if the group were closed now.
        if (s.dp) s.dp->abandon();
    } catch (const std::exception& e) {
        std::string msg = e.what();
        if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
        s.result.stopReason = TrainStopReason::Failed;
        s.result.message = msg;
    }
    return finish();
}

}  // namespace mts
