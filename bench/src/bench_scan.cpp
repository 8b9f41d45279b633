// `mamba-studio-cli bench scan`: the selective-scan kernels (fused CPU per ISA, reference),
// forward and backward, ns per (token x channel x state); a table, or one JSON object.
// `--device cuda`: the fused CUDA kernel (when built) against the chunked fallback on the GPU.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "bench_parts.h"
#include "mts/core/kernels/scan_cpu.h"
#include "mts/core/kernels/selective_scan.h"
#include "mts/core/model/language_model.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/runtime.h"
#include "mts/core/runtime/torch_compat.h"

namespace mts::bench {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

nlohmann::json machineJson() {
    const auto& rt = runtimeInfo();
    return {{"torch", rt.torchVersion},     {"blas", rt.blas},       {"threads", rt.intraOpThreads},
            {"device", rt.device},          {"cpu_bf16", rt.cpuBf16}, {"scan_isa", scan_cpu::activeIsa()}};
}

// ---------------------------------------------------------------------------------------------
// bench scan

struct BenchScanOptions {
    int64_t batch = 8;
    int64_t seqLen = 256;
    int64_t dInner = 512;
    int64_t dState = 16;
    int reps = 5;
    bool reference = true;
    std::string isa;
    std::string device = "cpu";  // cpu, or cuda (first CUDA device)
    std::string io = "fp32";  // dtype of u, delta, z, y and their gradients (bf16: autocast's)
    bool best = false;  // minimum instead of median (A/B runs on a machine with noisy neighbours)
    bool json = false;
};

struct ScanTiming {
    double fwdNoGrad = 0;  // seconds, median
    double fwd = 0;        // forward with state saving (grad enabled)
    double bwd = 0;
};

ScanTiming timeScan(const BenchScanOptions& o, ScanBackend backend, int reps) {
    torch::manual_seed(0);
    const torch::Device dev = o.device == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    // GPU work is asynchronous: the clock reads after the device is done.
    const auto sync = [&] {
        if (dev.is_cuda()) torch::cuda::synchronize();
    };
    const int64_t B = o.batch, L = o.seqLen, D = o.dInner, N = o.dState;
    ScanInputs in;
    std::vector<torch::Tensor> leaves;
    auto leaf = [&](torch::Tensor t) {
        t = t.to(dev);
        t.set_requires_grad(true);
        leaves.push_back(t);
        return t;
    };
    const auto io = o.io == "bf16" ? torch::kBFloat16 : torch::kFloat32;
    in.u = leaf(torch::randn({B, L, D}).to(io));
    in.delta = leaf((torch::randn({B, L, D}) - 2.0).to(io));
    in.A = leaf(-torch::arange(1, N + 1, torch::kFloat32).repeat({D, 1}));
    in.Bm = leaf(torch::randn({B, L, N}));
    in.Cm = leaf(torch::randn({B, L, N}));
    in.Dskip = leaf(torch::ones({D}));
    in.z = leaf(torch::randn({B, L, D}).to(io));
    in.deltaBias = leaf(torch::randn({D}) * 0.1);
    in.deltaSoftplus = true;
    const torch::Tensor gy = torch::randn({B, L, D}).to(io).to(dev);

    std::vector<double> fng, fwd, bwd;
    for (int r = 0; r < reps + 1; ++r) {  // first rep warms up
        {
            torch::NoGradGuard ng;
            sync();
            auto t0 = Clock::now();
            auto out = selectiveScan(in, false, backend);
            sync();
            if (r > 0) fng.push_back(secondsSince(t0));
        }
        auto t0 = Clock::now();
        auto out = selectiveScan(in, false, backend);
        sync();
        const double tf = secondsSince(t0);
        t0 = Clock::now();
        torch::autograd::grad({out.y}, leaves, {gy});
        sync();
        const double tb = secondsSince(t0);
        if (r > 0) {
            fwd.push_back(tf);
            bwd.push_back(tb);
        }
    }
    auto pick = [&](const std::vector<double>& v) {
        return o.best ? (v.empty() ? 0.0 : *std::min_element(v.begin(), v.end())) : median(v);
    };
    return {pick(fng), pick(fwd), pick(bwd)};
}

int runBenchScan(const BenchScanOptions& o) {
    if (!o.isa.empty()) scan_cpu::setIsaOverride(o.isa);
    const bool cuda = o.device == "cuda";
    if (cuda && !torch::cuda::is_available())
        throw ConfigError("--device cuda: no CUDA device is visible to LibTorch (" + runtimeInfo().torchVersion + ")");
    const double elems = double(o.batch) * o.seqLen * o.dInner * o.dState;
    // On CUDA the comparison is the chunked fallback (the reference's per-token ops are no GPU figure).
    const ScanBackend fusedBackend = cuda ? resolveScanBackend(torch::Device(torch::kCUDA)) : ScanBackend::FusedCpu;
    const ScanBackend refBackend = cuda ? ScanBackend::Chunked : ScanBackend::Reference;
    const char* refName = cuda ? "chunked" : "reference";
    if (cuda && fusedBackend != ScanBackend::Cuda)
        std::fprintf(stderr, "bench scan: this build has no CUDA kernels; the fused row is the %s scan\n",
                     toString(fusedBackend).c_str());
    const ScanTiming fused = timeScan(o, fusedBackend, o.reps);
    ScanTiming ref;
    if (o.reference) ref = timeScan(o, refBackend, cuda ? o.reps : std::max(1, o.reps / 2));
    auto ns = [&](double s) { return s * 1e9 / elems; };

    if (o.json) {
        nlohmann::json j = {{"bench", "scan"},
                            {"statistic", o.best ? "min" : "median"},
                            {"io", o.io},
                            {"shape", {{"batch", o.batch}, {"seq_len", o.seqLen}, {"d_inner", o.dInner}, {"d_state", o.dState}}},
                            {"machine", machineJson()},
                            {"device", o.device},
                            {"fused_backend", cuda ? describeScanBackend(torch::Device(torch::kCUDA)) : toString(fusedBackend)},
                            {"fused", {{"fwd_nograd_ms", fused.fwdNoGrad * 1e3}, {"fwd_ms", fused.fwd * 1e3},
                                       {"bwd_ms", fused.bwd * 1e3}, {"fwd_ns_per_elem", ns(fused.fwd)},
                                       {"bwd_ns_per_elem", ns(fused.bwd)}, {"fwd_nograd_ns_per_elem", ns(fused.fwdNoGrad)}}}};
        if (o.reference) {
            j[refName] = {{"fwd_nograd_ms", ref.fwdNoGrad * 1e3}, {"fwd_ms", ref.fwd * 1e3}, {"bwd_ms", ref.bwd * 1e3},
                              {"fwd_ns_per_elem", ns(ref.fwd)}, {"bwd_ns_per_elem", ns(ref.bwd)},
                              {"fwd_nograd_ns_per_elem", ns(ref.fwdNoGrad)}};
            j["speedup_fwd_bwd"] = (ref.fwd + ref.bwd) / std::max(1e-12, fused.fwd + fused.bwd);
        }
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("selective scan  B=%lld L=%lld D_inner=%lld N=%lld  (%.1fM elements)  io=%s isa=%s threads=%d  (%s of %d)\n",
                (long long)o.batch, (long long)o.seqLen, (long long)o.dInner, (long long)o.dState, elems / 1e6,
                o.io.c_str(), scan_cpu::activeIsa().c_str(), runtimeInfo().intraOpThreads, o.best ? "best" : "median",
                o.reps);
    std::printf("%-10s %12s %12s %12s %14s %14s\n", "backend", "fwd ms", "fwd(grad) ms", "bwd ms", "fwd ns/elem",
                "bwd ns/elem");
    std::printf("%-10s %12.2f %12.2f %12.2f %14.3f %14.3f\n", "fused", fused.fwdNoGrad * 1e3, fused.fwd * 1e3,
                fused.bwd * 1e3, ns(fused.fwd), ns(fused.bwd));
    if (o.reference) {
        std::printf("%-10s %12.2f %12.2f %12.2f %14.3f %14.3f\n", refName, ref.fwdNoGrad * 1e3, ref.fwd * 1e3,
                    ref.bwd * 1e3, ns(ref.fwd), ns(ref.bwd));
        std::printf("fused is %.1fx faster (fwd+bwd)\n", (ref.fwd + ref.bwd) / std::max(1e-12, fused.fwd + fused.bwd));
    }
    return 0;
}

}  // namespace

void addBenchScan(CLI::App& bench, Runner& run) {
    auto* sub = bench.add_subcommand("scan", "Selective-scan kernels: ns per (token x channel x state), fwd and bwd");
    auto o = std::make_shared<BenchScanOptions>();
    sub->add_option("--batch", o->batch, "Batch size")->check(CLI::PositiveNumber);
    sub->add_option("--seq-len", o->seqLen, "Sequence length")->check(CLI::PositiveNumber);
    sub->add_option("--d-inner", o->dInner, "Channels (expand x d_model)")->check(CLI::PositiveNumber);
    sub->add_option("--d-state", o->dState, "State size N")->check(CLI::Range(1, 256));
    sub->add_option("--reps", o->reps, "Timed repetitions (median reported, or the best with --best)")->check(CLI::PositiveNumber);
    sub->add_option("--isa", o->isa, "Force the kernel ISA: avx512, avx2, generic");
    sub->add_option("--io", o->io, "Activations (u, delta, z, y, their gradients) in fp32 or bf16 (autocast's)")
        ->check(CLI::IsMember({"fp32", "bf16"}));
    sub->add_option("--device", o->device, "cpu, or cuda: the fused CUDA kernel against the chunked scan on the GPU")
        ->check(CLI::IsMember({"cpu", "cuda"}));
    sub->add_flag("!--no-reference", o->reference, "Skip the (slow) reference scan (on CUDA: the chunked one)");
    sub->add_flag("--best", o->best, "Report the fastest repetition instead of the median (for A/B runs)");
    sub->add_flag("--json", o->json, "One JSON object on stdout");
    sub->callback([&run, o] { run = [o] { return runBenchScan(*o); }; });
}

}  // namespace mts::bench
