// GradientReducer: DDP's bucketed gradient all-reduce, overlapped with the backward pass.
//
// How the overlap works: each parameter gets a post hook on its AccumulateGrad node (the
// autograd node that adds a gradient into .grad; compat::onGradAccumulated). During the armed
// backward pass the hook marks the parameter ready; when every parameter of a bucket is ready,
// the bucket's gradients are copied into one flat buffer and its all-reduce is launched
// asynchronously (c10d runs it on its own threads) while autograd goes on with earlier layers.
// Buckets are launched strictly in bucket order, so every rank issues identical collectives.
// finish() launches what backward did not complete (unused parameters), waits, divides by the
// world size and copies the averages back into .grad: only that wait is "exposed".
#include <chrono>

#include <fmt/format.h>

#include "mts/core/runtime/torch_compat.h"
#include "mts/core/train/distributed.h"
#include "runtime/torch_compat_c10d.h"

namespace mts {

namespace {
using Clock = std::chrono::steady_clock;
constexpr int64_t kFirstBucketBytes = 1 << 20;  // small first bucket: communication starts early
}  // namespace

struct GradientReducer::Bucket {
    std::vector<size_t> params;
    std::vector<int64_t> offsets;  // element offset of each param in flat
    torch::Tensor flat;            // (numel,) in the params' dtype, on the group's device
    size_t ready = 0;
    bool launched = false;
    std::shared_ptr<compat::CommWork> work;
};

GradientReducer::GradientReducer(DataParallelGroup& group, std::vector<torch::Tensor> params)
    : m_group(group), m_params(std::move(params)) {
    const int64_t cap = std::max<int64_t>(1, static_cast<int64_t>(group.options().bucketMb * 1024.0 * 1024.0));
    m_bucketOf.assign(m_params.size(), 0);
    m_paramReady.assign(m_params.size(), 0);
    int64_t bytes = 0, numel = 0;
    auto close = [&] {
        if (!m_buckets.empty() && !m_buckets.back()->params.empty() && !m_buckets.back()->flat.defined()) {
            const auto& first = m_params[m_buckets.back()->params.front()];
            m_buckets.back()->flat = torch::zeros({numel}, first.options().device(group.device()));
        }
    };
    // Backward produces gradients roughly from the last layer to the first: bucket in reverse.
    for (size_t k = m_params.size(); k-- > 0;) {
        const torch::Tensor& p = m_params[k];
        const int64_t pBytes = p.numel() * static_cast<int64_t>(p.element_size());
        const int64_t limit = m_buckets.size() <= 1 ? std::min(cap, kFirstBucketBytes) : cap;
        bool fresh = m_buckets.empty() || (bytes > 0 && bytes + pBytes > limit);
        if (!fresh) {
            const auto& first = m_params[m_buckets.back()->params.front()];
            fresh = first.scalar_type() != p.scalar_type();
        }
        if (fresh) {
            close();
            m_buckets.push_back(std::make_unique<Bucket>());
            bytes = 0;
            numel = 0;
        }
        Bucket& b = *m_buckets.back();
        b.params.push_back(k);
        b.offsets.push_back(numel);
        m_bucketOf[k] = m_buckets.size() - 1;
        bytes += pBytes;
        numel += p.numel();
        m_stats.bytes += pBytes;
    }
    close();
    m_stats.buckets = static_cast<int64_t>(m_buckets.size());
    for (size_t k = 0; k < m_params.size(); ++k)
        m_hooks.push_back(compat::onGradAccumulated(m_params[k], [this, k] { onReady(k); }));
}

GradientReducer::~GradientReducer() = default;

void GradientReducer::prepare() {
    for (auto& b : m_buckets) {
        b->ready = 0;
        b->launched = false;
        b->work.reset();
    }
    std::fill(m_paramReady.begin(), m_paramReady.end(), 0);
    m_nextLaunch = 0;
    m_hookError.clear();
    m_stats.launchedInBackward = 0;
    m_stats.exposedSec = 0.0;
    m_armed = m_group.options().overlap;
    m_inBackward = true;
}

// On the autograd thread, while the training thread is blocked in backward(): no lock needed.
void GradientReducer::onReady(size_t param) {
    if (!m_armed) return;
    if (m_paramReady[param]) {
        // A second accumulation in one pass would change a gradient already sent.
        m_hookError = fmt::format("parameter {} received two gradient accumulations in one backward pass", param);
        return;
    }
    m_paramReady[param] = 1;
    Bucket& b = *m_buckets[m_bucketOf[param]];
    if (++b.ready == b.params.size()) launchInOrder();
}

void GradientReducer::launchInOrder() {
    while (m_nextLaunch < m_buckets.size() &&
           m_buckets[m_nextLaunch]->ready == m_buckets[m_nextLaunch]->params.size()) {
        launch(m_nextLaunch++);
        if (m_inBackward) ++m_stats.launchedInBackward;
    }
}

void GradientReducer::launch(size_t index) {
    torch::NoGradGuard noGrad;
    Bucket& b = *m_buckets[index];
    for (size_t i = 0; i < b.params.size(); ++i) {
        const torch::Tensor& p = m_params[b.params[i]];
        auto slot = b.flat.narrow(0, b.offsets[i], p.numel());
        const torch::Tensor& g = p.grad();
        if (g.defined()) slot.copy_(g.reshape({-1}));
        else slot.zero_();
    }
    try {
        b.work = m_group.comm().allreduceSum(b.flat);
        b.launched = true;
    } catch (const std::exception& e) {
        if (m_hookError.empty()) m_hookError = e.what();
    }
}

void GradientReducer::finish() {
    const auto t0 = Clock::now();
    m_armed = false;
    m_inBackward = false;
    torch::NoGradGuard noGrad;
    if (!m_hookError.empty())
        throw m_group.error("gradient all-reduce", std::runtime_error(m_hookError));
    while (m_nextLaunch < m_buckets.size()) launch(m_nextLaunch++);
    if (!m_hookError.empty())
        throw m_group.error("gradient all-reduce", std::runtime_error(m_hookError));
    const double inv = 1.0 / static_cast<double>(m_group.worldSize());
    for (auto& bp : m_buckets) {
        Bucket& b = *bp;
        try {
            b.work->wait();
        } catch (const std::exception& e) {
            throw m_group.error("gradient all-reduce", e);
        }
        b.flat.mul_(inv);
        for (size_t i = 0; i < b.params.size(); ++i) {
            torch::Tensor& p = m_params[b.params[i]];
            auto avg = b.flat.narrow(0, b.offsets[i], p.numel()).view(p.sizes());
            if (p.grad().defined()) p.mutable_grad().copy_(avg);
            else p.mutable_grad() = avg.clone();
        }
    }
    m_stats.exposedSec = std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace mts
