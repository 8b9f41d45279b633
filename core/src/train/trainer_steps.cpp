#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mts/core/generate/generation.h"
#include "mts/core/runtime/torch_compat.h"
#include "train/trainer_internal.h"
#include "train/trainer_session.h"

namespace mts::detail {

torch::Tensor windowLoss(LanguageModelImpl& model, const torch::Tensor& windows, const torch::Device& device,
                         Precision precision) {
    const int64_t len = windows.size(1) - 1;
    auto w = windows.to(device);
    auto x = w.slice(1, 0, len);
    auto y = w.slice(1, 1, len + 1);
    torch::Tensor logits;
    {
        const bool autocast = precision != Precision::Fp32;
        const auto dtype = precision == Precision::Fp16 && device.is_cuda() ? at::kHalf : at::kBFloat16;
        compat::AutocastGuard guard(device.type(), dtype, autocast);
        logits = model.forward(x);
    }
    // The loss (log-softmax over the vocabulary) always runs in fp32.
    return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32),
                                                y.reshape({-1}));
}

double evaluateLoss(LanguageModelImpl& model, const TokenStream& val, int64_t batches, int64_t rows, int64_t seqLen,
                    const torch::Device& device, Precision precision, const std::atomic<bool>* cancel) {
    const bool wasTraining = model.is_training();
    model.eval();
    torch::NoGradGuard noGrad;
    double total = 0.0;
    for (int64_t i = 0; i < batches; ++i) {
        if (cancel && cancel->load()) {
            model.train(wasTraining);
            return std::numeric_limits<double>::quiet_NaN();
        }
        total += windowLoss(model, evalBatch(val, i, batches, rows, seqLen), device, precision).item<double>();
    }
    model.train(wasTraining);
    return total / static_cast<double>(batches);
}

std::string sampleText(LanguageModelImpl& model, const Tokenizer& tokenizer, const std::string& prompt,
                       int64_t tokens, double temperature, uint64_t seed) {
    GenerateRequest req;
    req.promptIds = tokenizer.encode(prompt);
    if (req.promptIds.empty() && !tokenizer.eosId()) req.promptIds.push_back(0);
    req.options.temperature = temperature;
    req.options.maxNewTokens = tokens;
    req.options.seed = seed;
    req.options.topK = 0;
    return generate(model, &tokenizer, req).text;
}

std::unique_ptr<Optimizer> buildOptimizer(LanguageModelImpl& model, const TrainConfig& c, std::string& summary) {
    AdamWOptions aw;
    aw.lr = c.lr;
    aw.beta1 = c.beta1;
    aw.beta2 = c.beta2;
    aw.eps = c.eps;
    aw.weightDecay = c.weightDecay;
    std::vector<NamedParam> hidden, others;
    std::vector<bool> othersDecay;
    int64_t counts[4] = {0, 0, 0, 0};
    for (auto& item : model.named_parameters(/*recurse=*/true)) {
        if (!item.value().requires_grad()) continue;
        ParamRole role = classifyParameter(item.key(), item.value());
        counts[static_cast<int>(role)] += item.value().numel();
        if (role == ParamRole::Hidden && c.optimizer == OptimizerKind::Muon) {
            hidden.push_back({item.key(), item.value()});
        } else {
            others.push_back({item.key(), item.value()});
            othersDecay.push_back(role == ParamRole::Decay || role == ParamRole::Hidden);
        }
    }
    summary = fmt::format("{}: {} hidden-matrix, {} other-matrix, {} embedding, {} norm/bias/A_log/D parameters",
                          toString(c.optimizer), counts[3], counts[2], counts[0], counts[1]);
    if (c.optimizer == OptimizerKind::AdamW)
        return std::make_unique<AdamW>(std::move(others), std::move(othersDecay), aw);
    MuonOptions mo;
    mo.lr = c.muonLr;
    mo.momentum = c.muonMomentum;
    mo.nsSteps = c.muonNsSteps;
    mo.weightDecay = c.weightDecay;
    return std::make_unique<HybridMuon>(std::move(hidden), std::move(others), std::move(othersDecay), mo, aw);
}

}  // namespace mts::detail

namespace mts {

using nlohmann::json;

bool Trainer::Impl::trainStep() {
    auto t0 = Clock::now();
    const int64_t stepIndex = st.step;  // 0-based index of the step being taken
    const double factor = lrFactor(stepIndex);
    const bool fp16 = cfg.precision == Precision::Fp16;
    const double scale = fp16 ? scaler.scale() : 1.0;

    Accumulated acc = forwardBackward(stepIndex, scale);
    if (dp) {
        agreed = dp->finishStep(acc.lossSum, acc.finite, owner.m_cancelRequested, owner.m_pauseRequested,
                                st.elapsedSec + secondsSince(t0));
        acc.lossSum = agreed.lossSum;
        acc.finite = agreed.finite;
    }
    const int64_t stepTokens = cfg.gradAccum * cfg.microBatch * cfg.seqLen * (dp ? dp->worldSize() : 1);
    double norm = 0.0;
    bool overflow = false;
    if (acc.finite) {
        // fp16: unscale before the norm and the clipping; an inf/nan gradient skips the step.
        if (fp16 && !scaler.unscale(paramTensors(*optimizer))) overflow = true;
        norm = overflow ? std::numeric_limits<double>::infinity() : gradNorm(optimizer->params());
        if (!std::isfinite(norm)) {
            if (fp16) overflow = true;
            acc.finite = false;
        }
    }

    TrainProgress p;
    applyOrSkip(acc.finite, overflow, norm, factor, p);
    if (!acc.finite && !overflow)
        warn(fmt::format("step {}: non-finite {} - step skipped ({} in a row)", stepIndex + 1,
                         std::isfinite(acc.lossSum) && norm == 0.0 ? "loss" : "gradients", st.nonFiniteInARow));
    optimizer->zeroGrad();
    ++st.step;
    st.tokensSeen += stepTokens;

    const double tokensPerSec = recordTiming(secondsSince(t0), stepTokens);
    const double loss = acc.finite ? acc.lossSum / static_cast<double>(cfg.gradAccum) : std::nan("");
    reportStep(p, acc.finite, loss, norm, factor, tokensPerSec);
    return !stopOnNonFinite();
}

// Warmup + cosine by steps, or by the fraction of max_minutes used when there is no step limit.
double Trainer::Impl::lrFactor(int64_t stepIndex) const {
    return cfg.maxSteps > 0 || cfg.maxMinutes <= 0
               ? schedule.factor(stepIndex)
               : schedule.factorAtProgress(stepIndex, clockSec() / (cfg.maxMinutes * 60.0));
}

// Backward of every micro-batch (loss × scale / gradAccum); stops at the first non-finite loss.
Trainer::Impl::Accumulated Trainer::Impl::forwardBackward(int64_t stepIndex, double scale) {
    Accumulated acc;
    double auxSum = 0.0;
    bool hasAux = false;
    const bool injectNan =
        std::find(cfg.debugNanSteps.begin(), cfg.debugNanSteps.end(), stepIndex + 1) != cfg.debugNanSteps.end();
    for (int64_t m = 0; m < cfg.gradAccum; ++m) {
        const int64_t firstRow = dp ? dp->firstRow(m, cfg) : m * cfg.microBatch;
        auto windows = trainBatch(data.train, st.dataSeed, stepIndex, firstRow, cfg.microBatch, cfg.seqLen);
        auto loss = detail::windowLoss(*model, windows, device, cfg.precision);
        if (injectNan) loss = loss * std::numeric_limits<double>::quiet_NaN();
        const double value = loss.item<double>();
        if (!std::isfinite(value)) {
            acc.finite = false;
            if (!dp) break;  // data parallel: go on, the other ranks wait for this rank's gradients
        }
        acc.lossSum += value;
        if (torch::Tensor aux = model->auxiliaryLoss(); aux.defined()) {
            hasAux = true;
            auxSum += aux.item<double>();
            loss = loss + aux;
        }
        if (dp && m + 1 == cfg.gradAccum) dp->beforeLastBackward();
        (loss * (scale / static_cast<double>(cfg.gradAccum))).backward();
    }
    stepAuxLoss = hasAux ? auxSum / static_cast<double>(cfg.gradAccum) : std::nan("");
    return acc;
}

// A finite step clips and updates (and may grow the fp16 loss scale); a non-finite one is
// skipped: an fp16 overflow halves the scale, anything else counts towards max_non_finite.
void Trainer::Impl::applyOrSkip(bool finite, bool overflow, double norm, double factor, TrainProgress& p) {
    const bool fp16 = cfg.precision == Precision::Fp16;
    if (finite) {
        if (cfg.gradClip > 0 && norm > cfg.gradClip) scaleGrads(optimizer->params(), cfg.gradClip / norm);
        optimizer->step(factor);
        st.nonFiniteInARow = 0;
        if (fp16) updateScaler(/*foundInf=*/false);
        return;
    }
    ++st.skippedSteps;
    p.skipped = true;
    if (overflow) {
        // An fp16 overflow is the loss scaler doing its job: back off and go on.
        updateScaler(/*foundInf=*/true);
    } else {
        ++st.nonFiniteInARow;
    }
}

// The scaler's state goes to the trainer state, which checkpoints save.
void Trainer::Impl::updateScaler(bool foundInf) {
    scaler.update(foundInf);
    st.lossScale = scaler.scale();
    st.goodStepsSinceScale = scaler.goodSteps();
}

std::vector<torch::Tensor> Trainer::Impl::paramTensors(const Optimizer& opt) {
    std::vector<torch::Tensor> out;
    for (const NamedParam& np : opt.params()) out.push_back(np.param);
    return out;
}

double Trainer::Impl::recordTiming(double dt, int64_t stepTokens) {
    st.elapsedSec += dt;
    sessionTrainSec += dt;
    sessionTokens += stepTokens;
    ++sessionSteps;
    window.emplace_back(dt, stepTokens);
    if (window.size() > 20) window.pop_front();
    double wSec = 0;
    int64_t wTok = 0;
    for (auto& [sec, tok] : window) {
        wSec += sec;
        wTok += tok;
    }
    return wSec > 0 ? static_cast<double>(wTok) / wSec : 0.0;
}

// The progress callback (every step) and the metrics.jsonl line (every log_every steps).
void Trainer::Impl::reportStep(TrainProgress& p, bool finite, double loss, double norm, double factor,
                               double tokensPerSec) {
    if (finite) {
        recentLosses.push_back(loss);
        if (static_cast<int64_t>(recentLosses.size()) > cfg.logEvery) recentLosses.pop_front();
    }
    p.step = st.step;
    p.maxSteps = cfg.maxSteps;
    p.tokensSeen = st.tokensSeen;
    p.loss = loss;
    p.lr = cfg.lr * factor;
    p.gradNorm = norm;
    p.tokensPerSec = tokensPerSec;
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
        if (cfg.precision == Precision::Fp16) {
            line["loss_scale"] = st.lossScale;
            line["skipped_steps"] = st.skippedSteps;
        }
        if (!std::isnan(stepAuxLoss)) line["aux_loss"] = stepAuxLoss;
        if (dp) dp->describe(line, /*withRanks=*/false);
        if (run) run->appendMetric(line);
    }
}

bool Trainer::Impl::stopOnNonFinite() {
    if (st.nonFiniteInARow < cfg.maxNonFinite) return false;
    result.stopReason = TrainStopReason::NonFinite;
    result.message = fmt::format(
        "stopped at step {}: {} steps in a row had a non-finite loss or gradients (the learning rate may be too "
        "high, or the data may hold a bad batch); the last good checkpoint is {}",
        st.step, st.nonFiniteInARow, result.lastCheckpoint.empty() ? "none" : result.lastCheckpoint.string());
    return true;
}

}  // namespace mts
