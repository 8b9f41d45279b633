// Google Benchmark micro-benchmarks of the selective scan (mts_micro_bench): the fused CPU
// kernel forward (no grad), forward + backward, and the reference loop, over a few shapes.
// Rates: items = tokens x channels (B x L x D_inner) per second. The end-to-end figures are
// `mamba-studio-cli bench scan`; these isolate the kernel for A/B work on it.
#include <vector>

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "mts/core/kernels/selective_scan.h"

namespace {

// (B, L, D_inner, N) inputs with the model's layout; `grad` makes the differentiable ones leaves.
struct ScanCase {
    mts::ScanInputs in;
    std::vector<torch::Tensor> leaves;
    torch::Tensor gy;  // (B, L, D_inner)

    ScanCase(int64_t B, int64_t L, int64_t D, int64_t N, bool grad) {
        torch::manual_seed(0);
        auto leaf = [&](torch::Tensor t) {
            if (grad) {
                t.set_requires_grad(true);
                leaves.push_back(t);
            }
            return t;
        };
        in.u = leaf(torch::randn({B, L, D}));                                  // (B, L, D)
        in.delta = leaf(torch::randn({B, L, D}) - 2.0);                        // (B, L, D)
        in.A = leaf(-torch::arange(1, N + 1, torch::kFloat32).repeat({D, 1}));  // (D, N)
        in.Bm = leaf(torch::randn({B, L, N}));                                 // (B, L, N)
        in.Cm = leaf(torch::randn({B, L, N}));                                 // (B, L, N)
        in.Dskip = leaf(torch::ones({D}));
        in.z = leaf(torch::randn({B, L, D}));
        in.deltaBias = leaf(torch::randn({D}) * 0.1);
        gy = torch::randn({B, L, D});
    }
};

void setRate(benchmark::State& state) {
    state.SetItemsProcessed(state.iterations() * state.range(0) * state.range(1) * state.range(2));
    state.counters["d_state"] = static_cast<double>(state.range(3));
}

void BM_ScanFusedForward(benchmark::State& state) {
    const ScanCase c(state.range(0), state.range(1), state.range(2), state.range(3), false);
    torch::NoGradGuard noGrad;
    for (auto _ : state) {
        auto out = mts::selectiveScan(c.in, false, mts::ScanBackend::FusedCpu);
        benchmark::DoNotOptimize(out.y.data_ptr());
    }
    setRate(state);
}

void BM_ScanFusedForwardBackward(benchmark::State& state) {
    const ScanCase c(state.range(0), state.range(1), state.range(2), state.range(3), true);
    for (auto _ : state) {
        auto out = mts::selectiveScan(c.in, false, mts::ScanBackend::FusedCpu);
        auto grads = torch::autograd::grad({out.y}, c.leaves, {c.gy});
        benchmark::DoNotOptimize(grads.front().data_ptr());
    }
    setRate(state);
}

void BM_ScanReferenceForward(benchmark::State& state) {
    const ScanCase c(state.range(0), state.range(1), state.range(2), state.range(3), false);
    torch::NoGradGuard noGrad;
    for (auto _ : state) {
        auto out = mts::selectiveScan(c.in, false, mts::ScanBackend::Reference);
        benchmark::DoNotOptimize(out.y.data_ptr());
    }
    setRate(state);
}

// Args: B, L, D_inner, N. The tiny preset's layer (d_inner 256), a wider one, and one token
// (the decoding step's shape).
BENCHMARK(BM_ScanFusedForward)->Args({4, 256, 256, 16})->Args({4, 256, 1024, 16})->Args({1, 1, 1024, 16})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ScanFusedForwardBackward)->Args({4, 256, 256, 16})->Args({4, 256, 1024, 16})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScanReferenceForward)->Args({4, 256, 256, 16})->Unit(benchmark::kMillisecond);

}  // namespace
