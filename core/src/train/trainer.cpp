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
#include "mts/core/runtime/torch_compat_cuda.h"
#include "mts/core/train/checkpoint.h"
#include "mts/core/train/lr_schedule.h"
#include "mts/core/train/run_dir.h"
#include "runtime/json_file.h"
#include "train/trainer_internal.h"
#include "train/trainer_session.h"

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

// Set-up can take long (a checkpoint to load, a text corpus to build): cancel() is honoured
// between its stages and inside the text build, so a closing window never waits it out.
void Trainer::Impl::checkCancel(const char* stage) const {
    if (owner.m_cancelRequested.load()) throw Cancelled(std::string("cancelled during set-up (") + stage + ")");
}

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
    checkCancel("start");
    cfg.validate();
    chooseDevice();
    makePathsAbsolute();
    // The model's own tokenizer reads text data when there is a model to continue: a resumed
    // checkpoint, or the pretrained model of a fine-tuning run.
    LoadedCheckpoint ck;
    LoadedModel init;
    openData(loadStartingPoint(ck, init));
    if (!owner.m_start.resumeFrom.empty())
        resumeFrom(ck);
    else
        startNewRun(init);
    finishSetUp();
}

void Trainer::Impl::chooseDevice() {
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
}

// Relative data paths would break a resume from another working directory.
void Trainer::Impl::makePathsAbsolute() {
    std::error_code ec;
    fs::path dataPath = fs::absolute(cfg.data, ec);
    if (!ec) cfg.data = dataPath.lexically_normal().string();
}

// Reads the checkpoint being resumed or the model being fine-tuned (if any); returns its tokenizer.
std::shared_ptr<Tokenizer> Trainer::Impl::loadStartingPoint(LoadedCheckpoint& ck, LoadedModel& init) {
    if (!owner.m_start.resumeFrom.empty()) {
        // The run folder's lock first: a second trainer is refused before it loads anything.
        const fs::path ckDir = resolveCheckpointDir(owner.m_start.resumeFrom);
        if (!dp || dp->writer())  // data parallel: rank 0 alone writes (and locks) the run folder
            resumedRun = std::make_unique<RunDir>(RunDir::open(ckDir.parent_path().parent_path()));
        checkCancel("before loading the checkpoint");
        ck = readCheckpoint(ckDir, device);
        return ck.model.tokenizer;
    }
    if (!cfg.initFrom.empty()) {
        std::error_code ec;
        fs::path initPath = fs::absolute(cfg.initFrom, ec);
        if (!ec) cfg.initFrom = initPath.lexically_normal().string();
        checkCancel("before loading the model");
        init = loadModel(cfg.initFrom, device);
        return init.tokenizer;
    }
    return nullptr;
}

void Trainer::Impl::openData(const std::shared_ptr<Tokenizer>& modelTokenizer) {
    checkCancel("before reading the data");
    data = openTrainData(cfg.data, cfg.valFraction, cfg.seqLen, modelTokenizer, &owner.m_cancelRequested,
                         cfg.textTokenizer);
    checkCancel("after reading the data");
    log(data.description);
    if (modelTokenizer && !sameTokenizer(*data.tokenizer, *modelTokenizer))
        throw ConfigError(fmt::format("data: {} was tokenized with a {} tokenizer of {} ids, not the model's own "
                                      "({} tokenizer of {} ids): build the corpus with the model's tokenizer, or "
                                      "train on the text files directly",
                                      cfg.data, data.tokenizer->kind(), data.tokenizer->vocabSize(),
                                      modelTokenizer->kind(), modelTokenizer->vocabSize()));
}

// Model, optimizer state, RNG and data order from the checkpoint; the run folder it lives in.
void Trainer::Impl::resumeFrom(LoadedCheckpoint& ck) {
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
    if (cfg.precision == Precision::Fp16 && ck.config.precision != Precision::Fp16) {
        st.lossScale = cfg.fp16InitScale;  // switching to fp16: the scaler starts afresh
        st.goodStepsSinceScale = 0;
    }
    if (ck.cudaRngState.defined() && device.is_cuda()) {
        try {
            compat::setCudaRngState(device.has_index() ? device.index() : 0, ck.cudaRngState);
        } catch (const std::exception& e) {
            throw FormatError(ck.dir.string(), e.what());
        }
    } else if (ck.cudaRngState.defined()) {
        log("resume: the checkpoint's CUDA random state is not used on the CPU");
    }
    run = std::move(resumedRun);
    if (const int64_t dropped = run ? run->rewindTo(st.step) : 0; dropped > 0)
        log(fmt::format("resume: dropped {} metric/sample line{} written after step {} (or cut short)", dropped,
                        dropped == 1 ? "" : "s", st.step));
    log(fmt::format("resumed from {} at step {}", ck.dir.string(), st.step));
    if (cfg.maxSteps > 0 && st.step >= cfg.maxSteps)
        warn(fmt::format("the checkpoint is already at step {} of max_steps {}: nothing to train", st.step,
                         cfg.maxSteps));
}

// A fresh model from cfg.model (or the pretrained one of a fine-tuning run), its optimizer and
// a new run folder.
void Trainer::Impl::startNewRun(LoadedModel& init) {
    // Whether the model (as configured now) has a learned table of maxSeqLen positions.
    auto positionTable = [this] {
        return (cfg.model.arch == Architecture::Transformer || cfg.model.arch == Architecture::Attention1 ||
                cfg.model.arch == Architecture::Moe) &&
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
        log(fmt::format("fine-tuning {} ({} layout, stored {})", init.dir.string(), init.layout, init.storedDtype));
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
    checkCancel("before creating the run folder");
    fs::path runsDir = owner.m_start.runsDir.empty() ? defaultRunsDir() : owner.m_start.runsDir;
    if (!dp || dp->writer())
        run = std::make_unique<RunDir>(RunDir::create(runsDir, owner.m_start.name, toString(cfg.model.arch)));
}

// The effective config into the run folder, the schedule, the start line and status.
void Trainer::Impl::finishSetUp() {
    if (cfg.precision != Precision::Fp16) st.lossScale = 1.0;
    GradScalerOptions scalerOptions;
    scalerOptions.initScale = cfg.fp16InitScale;
    scalerOptions.growthInterval = cfg.fp16GrowthInterval;
    scaler = GradScaler(scalerOptions);
    try {
        scaler.load({st.lossScale, st.goodStepsSinceScale});
    } catch (const std::invalid_argument& e) {
        throw ConfigError(std::string("resume: the checkpoint's fp16 loss scale cannot be used: ") + e.what());
    }
    model->setGradientCheckpointing(cfg.gradCheckpointing);
    if (dp) dp->attach(*model, *optimizer);
    agreed.elapsedSec = st.elapsedSec;
    if (run) result.runDir = run->path();
    result.numParameters = model->numParameters();
    if (run) {
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
           {"active_non_embedding_params", model ? model->numActiveNonEmbeddingParameters() : 0},
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
    try {
        if (dp) dp->describe(j, /*withRanks=*/true);
        writeFileAtomic(run->path() / "run.json", j.dump(2) + "\n");
    } catch (const std::exception& e) {
        warn(std::string("could not update run.json: ") + e.what());
    }
}

bool Trainer::Impl::evaluate(bool& stop) {
    EvalReport r;
    r.step = st.step;
    r.tokensSeen = st.tokensSeen;
    // Data parallel: the ranks evaluate together, so cancel waits for the agreement after the
    // next step; alone, it is read between evaluation batches.
    r.valLoss = dp ? dp->evaluateLoss(*model, data.val, cfg.evalBatches, cfg.microBatch, cfg.seqLen, device,
                                      cfg.precision)
                   : detail::evaluateLoss(*model, data.val, cfg.evalBatches, cfg.microBatch, cfg.seqLen, device,
                                          cfg.precision, &owner.m_cancelRequested);
    if (!dp && owner.m_cancelRequested.load() && std::isnan(r.valLoss)) {
        result.stopReason = TrainStopReason::Cancelled;
        result.message = fmt::format("cancelled at step {} (during an evaluation)", st.step);
        stop = true;
        return false;
    }
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
    return true;
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
    if (device.is_cuda()) w.cudaRngState = compat::cudaRngState(device.has_index() ? device.index() : 0);
    const bool was = model->is_training();
    fs::path dir = writeCheckpoint(run->checkpointsDir(), w);
    model->train(was);
    result.lastCheckpoint = dir;
    if (best) {
        markBestCheckpoint(run->checkpointsDir(), dir.filename().string());
        result.bestCheckpoint = dir;
    }
    if (auto warning = pruneCheckpoints(run->checkpointsDir(), cfg.keepLast); !warning.empty()) warn(warning);
    lastCheckpointAt = now();
    if (owner.m_callbacks.onCheckpoint) owner.m_callbacks.onCheckpoint(CheckpointReport{st.step, dir, best});
    writeStatus("running");
}

bool Trainer::Impl::checkpointDue() const {
    const bool bySteps = cfg.checkpointEvery > 0 && st.step % cfg.checkpointEvery == 0;
    const bool byTime = cfg.checkpointMinutes > 0 && now() - lastCheckpointAt >= cfg.checkpointMinutes * 60.0;
    // During a streak of non-finite steps the previous checkpoint is the good one to keep.
    return (bySteps || byTime) && st.nonFiniteInARow == 0 &&
           result.lastCheckpoint.filename() != checkpointName(st.step);
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
    const auto text = detail::readSmallFile(dir / "trainer_state.json", uint64_t(64) << 20);
    const std::optional<json> parsed = text ? detail::tryParseJson(*text) : std::nullopt;
    const json j = parsed ? *parsed : json();
    if (!j.is_object() || !j.contains("train_config"))
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
    try {
        s.setUp();
        s.lastCheckpointAt = s.now();
        bool stop = false;
        int64_t lastEval = -1, lastCkpt = -1;
        while (!stop && !s.stopBeforeStep()) {
            if (!s.trainStep()) return s.finish();
            s.afterStep(stop, lastEval, lastCkpt);
        }
        s.finishSession(lastEval, lastCkpt);
    } catch (const Cancelled& e) {
        s.result.stopReason = TrainStopReason::Cancelled;
        s.result.message = e.what();
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
    return s.finish();
}

// True when the run ends before another step: max_steps, the time limit, or cancel (also
// while paused). Waits here while paused.
bool Trainer::Impl::stopBeforeStep() {
    Trainer& trainer = owner;
    if (cfg.maxSteps > 0 && st.step >= cfg.maxSteps) {
        result.stopReason = TrainStopReason::MaxSteps;
        result.message = fmt::format("reached {} steps", cfg.maxSteps);
        return true;
    }
    if (timeUp()) {
        result.stopReason = TrainStopReason::TimeLimit;
        result.message = fmt::format("reached the time limit of {} min", cfg.maxMinutes);
        return true;
    }
    if (dp ? agreed.pause : trainer.m_pauseRequested.load()) {
        log("paused");
        writeStatus("paused");
        const double pausedAt = now();
        if (dp)
            agreed = dp->waitWhilePaused([&trainer] { return trainer.m_pauseRequested.load(); },
                                         [&trainer] { return trainer.m_cancelRequested.load(); });
        else
            trainer.waitWhilePaused();
        lastCheckpointAt += now() - pausedAt;  // time paused puts nothing at risk
        if (!(dp ? agreed.cancel : trainer.m_cancelRequested.load())) {
            log("resumed");
            writeStatus("running");
        }
    }
    if (dp ? agreed.cancel : trainer.m_cancelRequested.load()) {
        result.stopReason = TrainStopReason::Cancelled;
        result.message = fmt::format("cancelled at step {}", st.step);
        return true;
    }
    return false;
}

// Evaluations, samples and checkpoints due after a step; they count towards max_minutes (not
// tokens/s).
void Trainer::Impl::afterStep(bool& stop, int64_t& lastEval, int64_t& lastCkpt) {
    const auto extrasStart = Clock::now();
    if (cfg.evalEvery > 0 && st.step % cfg.evalEvery == 0) {
        if (evaluate(stop)) lastEval = st.step;
    }
    if (!stop && cfg.sampleEvery > 0 && st.step % cfg.sampleEvery == 0) samples();
    if (!stop && checkpointDue()) {
        checkpoint(false);
        lastCkpt = st.step;
    }
    st.elapsedSec += secondsSince(extrasStart);
}

// The end of a session that was not stopped by non-finite steps: a last evaluation, samples and
// checkpoint unless cancelled or already done at this step, and the best checkpoint found.
void Trainer::Impl::finishSession(int64_t lastEval, int64_t lastCkpt) {
    const bool resumed = !owner.m_start.resumeFrom.empty();
    bool cancelled = result.stopReason == TrainStopReason::Cancelled;
    if (!cancelled && lastEval != st.step && st.step > 0) {
        bool ignored = false;
        cancelled = !evaluate(ignored);
    }
    if (!cancelled && cfg.sampleEvery > 0 && st.step % cfg.sampleEvery != 0 && st.step > 0) samples();
    const bool nothingNew = sessionSteps == 0 && resumed;
    if (!nothingNew && lastCkpt != st.step && result.lastCheckpoint.filename() != checkpointName(st.step))
        checkpoint(false);
    if (run && st.bestStep >= 0 && result.bestCheckpoint.empty()) {
        fs::path best = run->checkpointsDir() / checkpointName(st.bestStep);
        if (fs::exists(best)) result.bestCheckpoint = best;
    }
}

// The result with the session's totals; run.json gets the final status.
TrainResult Trainer::Impl::finish() {
    result.steps = st.step;
    result.tokensSeen = st.tokensSeen;
    result.elapsedSec = st.elapsedSec;
    result.skippedSteps = st.skippedSteps;
    result.tokensPerSec = sessionTrainSec > 0 ? static_cast<double>(sessionTokens) / sessionTrainSec : 0.0;
    double sum = 0;
    for (double l : recentLosses) sum += l;
    result.finalLoss = recentLosses.empty() ? 0.0 : sum / static_cast<double>(recentLosses.size());
    if (st.bestStep >= 0) result.bestValLoss = st.bestValLoss;
    result.peakRssBytes = peakRssBytes();
    writeStatus(finalStatus(result.stopReason));
    return result;
}

}  // namespace mts
