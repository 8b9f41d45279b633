#include "train/trainer_data_parallel.h"

#include <cmath>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/torch_compat.h"
#include "train/trainer_internal.h"

namespace mts::detail {

std::unique_ptr<DataParallel> DataParallel::start(const DistributedOptions& options, torch::Device& device,
                                                  const std::function<void(const std::string&)>& log) {
    if (!options.enabled) return nullptr;
    if (device.is_cuda()) {
        const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
        if (count > 0) device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(options.localRank % count));
    }
    auto dp = std::unique_ptr<DataParallel>(new DataParallel());
    dp->m_group = DataParallelGroup::join(options, device);
    dp->m_rank = dp->m_group->rank();
    dp->m_worldSize = dp->m_group->worldSize();
    dp->m_ranks = nlohmann::json::array();
    for (const auto& r : dp->m_group->ranks())
        dp->m_ranks.push_back(nlohmann::json{{"rank", r.rank}, {"host", r.host}, {"pid", r.pid}});
    std::string hosts;
    for (const auto& r : dp->m_group->ranks()) hosts += fmt::format("{}{}:{}", hosts.empty() ? "" : ", ", r.host, r.pid);
    log(fmt::format("data parallel: rank {} of {} ({}, {} bucket {:g} MB, overlap {}, timeout {:g} s); ranks {}",
                    options.rank, options.worldSize, dp->m_group->backend(), device.str(), options.bucketMb,
                    options.overlap ? "on" : "off", options.timeoutSec, hosts));
    return dp;
}

void adoptWorldSize(TrainConfig& cfg, TrainerState& st, int64_t now,
                    const std::function<void(const std::string&)>& log) {
    if (st.worldSize != now) {
        const int64_t globalMicro = st.worldSize * cfg.gradAccum;
        if (globalMicro % now != 0)
            throw ConfigError(fmt::format(
                "resume: the run was trained by {} ranks x grad_accum {} (micro_batch {}); {} ranks cannot keep its "
                "batch of {} micro-batches per step: use a number of ranks that divides {}",
                st.worldSize, cfg.gradAccum, cfg.microBatch, now, globalMicro, globalMicro));
        log(fmt::format("resume: world size {} -> {}: grad_accum {} -> {} per rank, the step stays {} rows of "
                        "{} tokens",
                        st.worldSize, now, cfg.gradAccum, globalMicro / now, globalMicro * cfg.microBatch,
                        cfg.seqLen));
        cfg.gradAccum = globalMicro / now;
    }
    st.worldSize = now;
}

void DataParallel::abandon() {
    if (m_reducer) m_lastExposedSec = m_reducer->stats().exposedSec;
    (void)m_reducer.release();
    (void)m_group.release();
}

void DataParallel::attach(LanguageModelImpl& model, const Optimizer& optimizer) {
    std::vector<torch::Tensor> tensors;
    for (const auto& p : model.parameters(/*recurse=*/true)) tensors.push_back(p);
    for (const auto& b : model.buffers(/*recurse=*/true)) tensors.push_back(b);
    m_group->broadcastFromRankZero(tensors);
    std::vector<torch::Tensor> params;
    for (const auto& np : optimizer.params()) params.push_back(np.param);
    m_reducer = std::make_unique<GradientReducer>(*m_group, std::move(params));
}

StepAgreement DataParallel::finishStep(double localLossSum, bool localFinite, bool cancel, bool pause,
                                       double rankZeroElapsed) {
    m_reducer->finish();
    // A NaN loss on one rank must not turn the agreed sum into garbage flags: it travels as a
    // flag, and its value only in the loss slot.
    auto s = m_group->sum({localFinite ? localLossSum : 0.0, localFinite ? 0.0 : 1.0, cancel ? 1.0 : 0.0,
                           pause ? 1.0 : 0.0, writer() ? rankZeroElapsed : 0.0},
                          "agreeing on the step's loss and stop flags");
    StepAgreement a;
    a.finite = s[1] == 0.0;
    a.lossSum = a.finite ? s[0] / static_cast<double>(worldSize()) : std::nan("");
    a.cancel = s[2] > 0.0;
    a.pause = s[3] > 0.0;
    a.elapsedSec = s[4];
    return a;
}

StepAgreement DataParallel::waitWhilePaused(const std::function<bool()>& pauseRequested,
                                            const std::function<bool()>& cancelRequested) {
    StepAgreement a;
    a.pause = true;
    while (a.pause && !a.cancel) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        auto s = m_group->sum({pauseRequested() ? 1.0 : 0.0, cancelRequested() ? 1.0 : 0.0}, "agreeing on a pause");
        a.pause = s[0] > 0.0;
        a.cancel = s[1] > 0.0;
    }
    return a;
}

double DataParallel::evaluateLoss(LanguageModelImpl& model, const TokenStream& val, int64_t batches, int64_t rows,
                                  int64_t seqLen, const torch::Device& device, Precision precision) {
    const bool wasTraining = model.is_training();
    model.eval();
    double local = 0.0;
    {
        torch::NoGradGuard noGrad;
        for (int64_t i = rank(); i < batches; i += worldSize())
            local += windowLoss(model, evalBatch(val, i, batches, rows, seqLen), device, precision).item<double>();
    }
    model.train(wasTraining);
    return m_group->sum({local}, "summing the validation loss")[0] / static_cast<double>(batches);
}

void DataParallel::describe(nlohmann::json& j, bool withRanks) const {
    j["world_size"] = worldSize();
    if (withRanks) {
        j["ranks"] = m_ranks;
    } else {
        j["allreduce_exposed_sec"] = m_reducer ? m_reducer->stats().exposedSec : m_lastExposedSec;
    }
}

}  // namespace mts::detail
