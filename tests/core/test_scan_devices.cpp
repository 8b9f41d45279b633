// The scan backends on every device this machine has, as one suite: the fused CPU kernel and
// the chunked scan on the CPU; on a CUDA device (when LibTorch sees one) the fused CUDA kernel
// (when the build has it: cmake/MtsCuda.cmake) and the chunked fallback. Each is compared with
// the double-precision oracle (tests/support/scan_oracle.h): y, the last state and the gradient
// of every input, in float64 and float32; bf16 / fp16 activations on CUDA against the float
// kernel. The CUDA cases skip, saying why, on a machine without a GPU or a CUDA build.
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/kernels/causal_conv.h"
#include "mts/core/kernels/selective_scan.h"
#include "scan_oracle.h"

namespace {

using mts::ScanBackend;
using mts::test::relErr;
using mts::test::ScanCase;
using torch::Tensor;

bool cudaDevice() { return torch::cuda::is_available(); }
bool cudaKernelBuilt() { return mts::resolveScanBackend(torch::Device(torch::kCUDA)) == ScanBackend::Cuda; }

struct Target {
    torch::Device device;
    ScanBackend backend;
    std::string name;
};

// The (device, backend) pairs of the CPU, or of the first CUDA device (the chunked fallback
// always, the fused kernel when built).
std::vector<Target> targets(bool cuda) {
    if (!cuda) return {{torch::kCPU, ScanBackend::FusedCpu, "cpu fused"}, {torch::kCPU, ScanBackend::Chunked, "cpu chunked"}};
    const torch::Device dev(torch::kCUDA, 0);
    std::vector<Target> t = {{dev, ScanBackend::Chunked, "cuda chunked"}};
    if (cudaKernelBuilt()) t.push_back({dev, ScanBackend::Cuda, "cuda kernel"});
    return t;
}

const std::vector<ScanCase>& cases() {
    static const std::vector<ScanCase> cs = {
        {1, 7, 5, 16, true, true, true, true, false},       // batch 1, tiny odd shapes, tail lanes
        {2, 33, 37, 8, true, true, true, true, true},       // d_state 8, odd length over chunks
        {3, 17, 16, 16, false, false, false, true, false},  // no z, D, bias
        {2, 40, 20, 16, true, false, true, false, true},    // no softplus
        {1, 1, 3, 16, false, true, false, true, false},     // a single step
        {2, 19, 9, 5, true, true, true, true, true},        // d_state with no specialisation
        {1, 50, 33, 40, false, true, true, true, false},    // d_state above 16
    };
    return cs;
}

// The problem's leaves moved to the target's device and dtype (as new leaves), the scan run
// with its backend, and y, lastState and every gradient compared with the float64 oracle.
void compareWithOracle(const Target& tg, const ScanCase& c, torch::Dtype dtype, double tol) {
    auto m = mts::test::makeScanProblem(c, 1234 + c.B * 7 + c.L * 13 + c.D * 17 + c.N);
    const auto o64 = torch::TensorOptions().dtype(torch::kFloat64);
    const Tensor wy = torch::randn({c.B, c.L, c.D}, o64), wh = torch::randn({c.B, c.D, c.N}, o64);
    auto ref = mts::test::scanOracle(m.in);
    auto refGrads = torch::autograd::grad({(ref.y * wy).sum() + (ref.lastState * wh).sum()}, m.leaves);

    const auto to = torch::TensorOptions().dtype(dtype).device(tg.device);
    mts::ScanInputs in;
    in.deltaSoftplus = c.softplus;
    std::vector<Tensor> leaves;
    for (size_t i = 0; i < m.leaves.size(); ++i) {
        Tensor t = m.leaves[i].detach().to(to).requires_grad_(true);
        leaves.push_back(t);
        const std::string& n = m.names[i];
        (n == "u" ? in.u : n == "delta" ? in.delta : n == "A" ? in.A : n == "Bm" ? in.Bm : n == "Cm" ? in.Cm
         : n == "Dskip" ? in.Dskip : n == "z" ? in.z : n == "deltaBias" ? in.deltaBias : in.initialState) = t;
    }
    auto got = mts::selectiveScan(in, true, tg.backend);
    ASSERT_EQ(got.y.device().type(), tg.device.type());
    auto grads = torch::autograd::grad({(got.y * wy.to(to)).sum() + (got.lastState * wh.to(to)).sum()}, leaves);
    const std::string where = tg.name + " " + c.name() + (dtype == torch::kFloat64 ? " f64" : " f32");
    EXPECT_LE(relErr(got.y, ref.y), tol) << where << " y";
    EXPECT_LE(relErr(got.lastState, ref.lastState), tol) << where << " lastState";
    ASSERT_EQ(grads.size(), refGrads.size());
    for (size_t i = 0; i < grads.size(); ++i) {
        ASSERT_TRUE(grads[i].defined()) << where << " d" << m.names[i];
        EXPECT_LE(relErr(grads[i], refGrads[i]), tol) << where << " d" << m.names[i];
    }
}

TEST(ScanDevices, CpuBackendsMatchOracle) {
    for (const auto& tg : targets(false)) {
        for (const auto& c : cases()) {
            compareWithOracle(tg, c, torch::kFloat64, 1e-6);
            compareWithOracle(tg, c, torch::kFloat32, 3e-4);
        }
    }
}

// The chunked fallback and (when built) the fused kernel on the GPU, every gradient.
TEST(ScanDevices, CudaBackendsMatchOracle) {
    if (!cudaDevice()) GTEST_SKIP() << "no CUDA device visible to LibTorch";
    if (!cudaKernelBuilt()) std::cerr << "note: this build has no CUDA kernels: only the chunked scan runs on CUDA\n";
    for (const auto& tg : targets(true)) {
        for (const auto& c : cases()) {
            compareWithOracle(tg, c, torch::kFloat64, 1e-6);
            compareWithOracle(tg, c, torch::kFloat32, 3e-4);
        }
    }
    // d_state above the kernel's registers: Auto takes the chunked scan, still correct.
    compareWithOracle({torch::Device(torch::kCUDA, 0), ScanBackend::Auto, "cuda auto"},
                      {1, 21, 12, 80, true, true, true, true, true}, torch::kFloat64, 1e-6);
}

TEST(ScanDevices, AutoPicksTheFusedKernelOfEachDevice) {
    EXPECT_EQ(mts::resolveScanBackend(torch::kCPU), ScanBackend::FusedCpu);
    // A build without the CUDA kernels (this Debian LibTorch) takes the chunked scan on CUDA.
    const ScanBackend cuda = mts::resolveScanBackend(torch::Device(torch::kCUDA));
    EXPECT_TRUE(cuda == ScanBackend::Cuda || cuda == ScanBackend::Chunked);
    EXPECT_EQ(mts::causalConvFused(torch::kCPU, 4), true);
    EXPECT_EQ(mts::causalConvFused(torch::Device(torch::kCUDA), 4), cuda == ScanBackend::Cuda);
    EXPECT_FALSE(mts::causalConvFused(torch::Device(torch::kCUDA), 5));
    const std::string text = mts::describeScanBackend(torch::Device(torch::kCUDA));
    EXPECT_NE(text.find(cuda == ScanBackend::Cuda ? "CUDA kernel" : "chunked"), std::string::npos) << text;
}

TEST(ScanDevices, TheCudaBackendExplainsWhyItCannotRun) {
    auto m = mts::test::makeScanProblem(cases()[0], 5);
    torch::NoGradGuard ng;
    if (!cudaKernelBuilt()) {
        try {
            mts::selectiveScan(m.in, false, ScanBackend::Cuda);
            FAIL() << "no exception";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("without CUDA"), std::string::npos) << e.what();
        }
    } else {
        try {  // CPU tensors given to the CUDA kernel
            mts::selectiveScan(m.in, false, ScanBackend::Cuda);
            FAIL() << "no exception";
        } catch (const c10::Error& e) {
            EXPECT_NE(std::string(e.what()).find("CUDA device"), std::string::npos) << e.what();
        }
    }
}

// Autocast's layout on CUDA: u, delta and z in bf16 (or fp16) are read as such, y and their
// gradients come back in that type: equal to the float kernel on the widened inputs up to
// the output's rounding; the fp32 gradients (A, B, C, D, bias) to float accuracy.
TEST(ScanDevices, CudaKernelReadsAndWritesBf16AndHalfActivations) {
    if (!cudaDevice()) GTEST_SKIP() << "no CUDA device visible to LibTorch";
    if (!cudaKernelBuilt()) GTEST_SKIP() << "this build has no CUDA kernels (LibTorch without CUDA)";
    const torch::Device cuda(torch::kCUDA, 0);
    for (const auto lowType : {torch::kBFloat16, torch::kHalf}) {
        const double tolLow = lowType == torch::kBFloat16 ? 1.0 / 128 : 1.0 / 1024;
        for (const ScanCase& c : {ScanCase{2, 37, 40, 16, true, true, true, true, false},
                                  ScanCase{1, 19, 9, 5, true, true, true, true, false}}) {
            auto m = mts::test::makeScanProblem(c, 99 + c.D);
            mts::ScanInputs lo, hi;
            std::vector<Tensor> loLeaves, hiLeaves;
            for (size_t i = 0; i < m.leaves.size(); ++i) {
                const std::string& n = m.names[i];
                const bool act = n == "u" || n == "delta" || n == "z";
                const Tensor base = m.leaves[i].detach().to(cuda, torch::kFloat32);
                Tensor l = (act ? base.to(lowType) : base.clone()).requires_grad_(true);
                Tensor h = (act ? base.to(lowType).to(torch::kFloat32) : base.clone()).requires_grad_(true);
                loLeaves.push_back(l);
                hiLeaves.push_back(h);
                for (auto* s : {&lo, &hi}) {
                    Tensor v = s == &lo ? l : h;
                    (n == "u" ? s->u : n == "delta" ? s->delta : n == "A" ? s->A : n == "Bm" ? s->Bm : n == "Cm" ? s->Cm
                     : n == "Dskip" ? s->Dskip : n == "z" ? s->z : s->deltaBias) = v;
                }
            }
            auto got = mts::selectiveScan(lo, false, ScanBackend::Cuda);
            auto ref = mts::selectiveScan(hi, false, ScanBackend::Cuda);
            const std::string where = std::string(lowType == torch::kHalf ? "f16 " : "bf16 ") + c.name();
            ASSERT_EQ(got.y.scalar_type(), lowType) << where;
            EXPECT_LE(relErr(got.y, ref.y), tolLow) << where << " y";
            const Tensor gy = torch::randn({c.B, c.L, c.D}, torch::TensorOptions().device(cuda)).to(lowType);
            auto gGot = torch::autograd::grad({got.y}, loLeaves, {gy});
            auto gRef = torch::autograd::grad({ref.y}, hiLeaves, {gy.to(torch::kFloat32)});
            for (size_t i = 0; i < gGot.size(); ++i) {
                const std::string& n = m.names[i];
                const bool act = n == "u" || n == "delta" || n == "z";
                EXPECT_EQ(gGot[i].scalar_type(), act ? lowType : torch::kFloat32) << where << " d" << n;
                EXPECT_LE(relErr(gGot[i], gRef[i]), act ? tolLow : 1e-4) << where << " d" << n;
            }
        }
    }
}

// The causal conv on CUDA (fused kernel when built, else the error saying so) against a
// float64 oracle: y, dx, dw, dbias.
TEST(ScanDevices, CudaCausalConvMatchesOracle) {
    if (!cudaDevice()) GTEST_SKIP() << "no CUDA device visible to LibTorch";
    if (!cudaKernelBuilt()) GTEST_SKIP() << "this build has no CUDA kernels (LibTorch without CUDA)";
    const torch::Device cuda(torch::kCUDA, 0);
    for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
        for (const int64_t K : {4, 3}) {
            torch::manual_seed(31 + K);
            const int64_t B = 2, L = 70, D = 150;
            const auto o = torch::TensorOptions().dtype(torch::kFloat64);
            Tensor x = torch::randn({B, L, D}, o).requires_grad_(true);
            Tensor w = (torch::randn({D, 1, K}, o) * 0.5).requires_grad_(true);
            Tensor bias = (torch::randn({D}, o) * 0.2).requires_grad_(true);
            Tensor left = torch::randn({B, K - 1, D}, o);
            const Tensor wy = torch::randn({B, L, D}, o);
            Tensor xp = torch::cat({left, x}, 1), pre = bias.expand({B, L, D});
            for (int64_t j = 0; j < K; ++j) pre = pre + xp.narrow(1, j, L) * w.select(1, 0).select(1, j);
            Tensor ref = torch::silu(pre);
            auto refG = torch::autograd::grad({(ref * wy).sum()}, {x, w, bias});

            const auto to = torch::TensorOptions().dtype(dtype).device(cuda);
            Tensor xc = x.detach().to(to).requires_grad_(true), wc = w.detach().to(to).requires_grad_(true);
            Tensor bc = bias.detach().to(to).requires_grad_(true);
            Tensor y = mts::causalConv1dSilu(xc, wc, bc, true, left.to(to));
            auto g = torch::autograd::grad({(y * wy.to(to)).sum()}, {xc, wc, bc});
            const double tol = dtype == torch::kFloat64 ? 1e-10 : 1e-5;
            const std::string where = "K" + std::to_string(K) + (dtype == torch::kFloat64 ? " f64" : " f32");
            EXPECT_LE(relErr(y, ref), tol) << where << " y";
            EXPECT_LE(relErr(g[0], refG[0]), tol) << where << " dx";
            EXPECT_LE(relErr(g[1], refG[1]), tol) << where << " dw";
            EXPECT_LE(relErr(g[2], refG[2]), tol) << where << " dbias";
        }
    }
}

}  // namespace
