// The fused CPU selective scan (for every ISA this CPU supports) and the chunked parallel scan
// against a plain oracle: outputs and all gradients, double precision to 1e-6 relative,
// float to 2e-4.
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/kernels/scan_cpu.h"
#include "mts/core/kernels/selective_scan.h"
#include "scan_oracle.h"
#include "tensor_checks.h"

using mts::test::relErr;

namespace {

using torch::Tensor;

struct IsaScope {
    explicit IsaScope(const std::string& isa) { mts::scan_cpu::setIsaOverride(isa); }
    ~IsaScope() { mts::scan_cpu::setIsaOverride(""); }
};

struct FusedCase {
    int64_t B, L, D, N;
    bool z, Dskip, bias, softplus, h0;
};

struct Made {
    mts::ScanInputs in;
    std::vector<Tensor> leaves;
};

Made makeInputs(const FusedCase& c, torch::Dtype dtype, uint64_t seed) {
    torch::manual_seed(seed);
    auto o = torch::TensorOptions().dtype(dtype);
    Made m;
    auto leaf = [&](Tensor t) {
        t.set_requires_grad(true);
        m.leaves.push_back(t);
        return t;
    };
    m.in.u = leaf(torch::randn({c.B, c.L, c.D}, o));
    // Raw delta around softplus^-1 of the usual dt range; without softplus keep it positive.
    m.in.delta = leaf(c.softplus ? torch::randn({c.B, c.L, c.D}, o) - 2.0
                                 : torch::rand({c.B, c.L, c.D}, o) * 0.2 + 0.01);
    m.in.A = leaf(-torch::exp(torch::randn({c.D, c.N}, o) * 0.5) * 2.0);
    m.in.Bm = leaf(torch::randn({c.B, c.L, c.N}, o));
    m.in.Cm = leaf(torch::randn({c.B, c.L, c.N}, o));
    if (c.Dskip) m.in.Dskip = leaf(torch::randn({c.D}, o));
    if (c.z) m.in.z = leaf(torch::randn({c.B, c.L, c.D}, o));
    // Without softplus dt = delta + bias must stay positive (else the state grows without bound).
    if (c.bias) m.in.deltaBias = leaf(c.softplus ? torch::randn({c.D}, o) * 0.3 : torch::rand({c.D}, o) * 0.05);
    m.in.deltaSoftplus = c.softplus;
    if (c.h0) m.in.initialState = leaf(torch::randn({c.B, c.D, c.N}, o) * 0.5);
    return m;
}

// Runs fused and oracle with a loss touching y and the last state; compares y, lastState and
// the gradient of every defined input.
using ScanFn = std::function<mts::ScanOutputs(const mts::ScanInputs&)>;
mts::ScanOutputs fused(const mts::ScanInputs& in) { return mts::selectiveScanFusedCpu(in, true); }

void compareCase(const FusedCase& c, torch::Dtype dtype, double tol, const std::string& isa,
                 const ScanFn& run = fused) {
    Made m = makeInputs(c, dtype, 1234 + c.B * 7 + c.L * 13 + c.D * 17 + c.N);
    auto o = torch::TensorOptions().dtype(dtype);
    Tensor wy = torch::randn({c.B, c.L, c.D}, o);
    Tensor wh = torch::randn({c.B, c.D, c.N}, o);

    auto ref = mts::test::scanOracle(m.in);
    auto refGrads = torch::autograd::grad({(ref.y * wy).sum() + (ref.lastState * wh).sum()}, m.leaves);
    auto got = run(m.in);
    ASSERT_EQ(got.y.scalar_type(), dtype);
    auto gotGrads = torch::autograd::grad({(got.y * wy).sum() + (got.lastState * wh).sum()}, m.leaves);

    const std::string where = isa + " B" + std::to_string(c.B) + " L" + std::to_string(c.L) + " D" +
                              std::to_string(c.D) + " N" + std::to_string(c.N);
    EXPECT_LE(relErr(got.y, ref.y), tol) << where << " y";
    EXPECT_LE(relErr(got.lastState, ref.lastState), tol) << where << " lastState";
    const char* names[] = {"u", "delta", "A", "Bm", "Cm", "Dskip", "z", "deltaBias", "initialState"};
    std::vector<std::string> present = {"u", "delta", "A", "Bm", "Cm"};
    if (c.Dskip) present.push_back("Dskip");
    if (c.z) present.push_back("z");
    if (c.bias) present.push_back("deltaBias");
    if (c.h0) present.push_back("initialState");
    (void)names;
    ASSERT_EQ(gotGrads.size(), refGrads.size());
    for (size_t i = 0; i < gotGrads.size(); ++i) {
        ASSERT_TRUE(gotGrads[i].defined()) << where << " d" << present[i];
        EXPECT_LE(relErr(gotGrads[i], refGrads[i]), tol) << where << " d" << present[i];
    }
}

const std::vector<FusedCase>& fusedCases() {
    static const std::vector<FusedCase> cs = {
        {1, 7, 5, 16, true, true, true, true, false},     // batch 1, tiny odd shapes, tail lanes
        {2, 33, 37, 8, true, true, true, true, true},     // d_state 8, odd length over chunks
        {3, 17, 16, 16, false, false, false, true, false},  // no z, D, bias
        {2, 40, 20, 16, true, false, true, false, true},  // no softplus
        {1, 1, 3, 16, false, true, false, true, false},   // a single step
        {2, 19, 9, 5, true, true, true, true, true},      // d_state with no specialisation
        {1, 50, 33, 4, false, true, true, true, false},   // d_state 4
    };
    return cs;
}

TEST(ScanCpu, GradientsMatchOracleInDouble) {
    for (const auto& isa : mts::scan_cpu::availableIsas()) {
        IsaScope scope(isa);
        for (const auto& c : fusedCases()) compareCase(c, torch::kFloat64, 1e-6, isa);
    }
}

TEST(ScanCpu, FloatMatchesOracle) {
    for (const auto& isa : mts::scan_cpu::availableIsas()) {
        IsaScope scope(isa);
        for (const auto& c : fusedCases()) compareCase(c, torch::kFloat32, 2e-4, isa);
    }
}

// Chunk lengths 1 (no doubling step), 4 and 8 (several steps, partial last chunks), and one
// chunk longer than every sequence.
TEST(ScanChunked, GradientsMatchOracleInDouble) {
    for (int64_t chunk : {1, 4, 8, 64}) {
        auto run = [chunk](const mts::ScanInputs& in) { return mts::selectiveScanChunked(in, true, chunk); };
        for (const auto& c : fusedCases()) compareCase(c, torch::kFloat64, 1e-6, "chunk " + std::to_string(chunk), run);
    }
}

TEST(ScanChunked, FloatMatchesOracleAndTheFusedKernel) {
    auto run = [](const mts::ScanInputs& in) { return mts::selectiveScanChunked(in, true, 8); };
    for (const auto& c : fusedCases()) compareCase(c, torch::kFloat32, 2e-4, "chunk 8", run);
    Made m = makeInputs({2, 45, 24, 16, true, true, true, true, true}, torch::kFloat32, 11);
    torch::NoGradGuard ng;
    auto a = mts::selectiveScan(m.in, true, mts::ScanBackend::Chunked);
    auto b = mts::selectiveScan(m.in, true, mts::ScanBackend::FusedCpu);
    EXPECT_LE(relErr(a.y, b.y), 1e-5);
    EXPECT_LE(relErr(a.lastState, b.lastState), 1e-5);
}

TEST(ScanChunked, BadInputThrowsWithTheArgumentName) {
    Made m = makeInputs({1, 5, 8, 16, true, true, true, true, false}, torch::kFloat32, 3);
    torch::NoGradGuard ng;
    auto bad = m.in;
    bad.Cm = torch::randn({1, 5, 7});
    try {
        mts::selectiveScanChunked(bad);
        FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("Cm"), std::string::npos) << e.what();
    }
    EXPECT_THROW(mts::selectiveScanChunked(m.in, false, 0), std::invalid_argument);
}

TEST(ScanCpu, StridedSlicesNeedNoCopyAndGiveTheSameResult) {
    // u / z as halves of one projection output, B / C as slices of another: the model's layout.
    torch::manual_seed(7);
    const int64_t B = 2, L = 21, D = 24, N = 16;
    Tensor xz = torch::randn({B, L, 2 * D});
    Tensor dbc = torch::randn({B, L, D + 2 * N});
    mts::ScanInputs s;
    s.u = xz.narrow(2, 0, D);
    s.z = xz.narrow(2, D, D);
    s.delta = dbc.narrow(2, 0, D) - 1.0;
    s.Bm = dbc.narrow(2, D, N);
    s.Cm = dbc.narrow(2, D + N, N);
    s.A = -torch::rand({D, N}) - 0.5;
    s.Dskip = torch::randn({D});
    mts::ScanInputs c = s;
    for (Tensor* t : {&c.u, &c.z, &c.Bm, &c.Cm}) *t = t->contiguous();
    auto a = mts::selectiveScanFusedCpu(s, true);
    auto b = mts::selectiveScanFusedCpu(c, true);
    EXPECT_TRUE(torch::equal(a.y, b.y));
    EXPECT_TRUE(torch::equal(a.lastState, b.lastState));
    EXPECT_LE(relErr(a.y, mts::test::scanOracle(c).y), 1e-5);
}

// bf16 activations (autocast's): u, delta and z are read as bf16 and y, du, ddelta, dz written
// as bf16, the arithmetic in fp32. So the result is the fp32 kernel's on the widened inputs,
// rounded once: equal to within one bf16 rounding (the fp32 gradients of A, B, C, D and the
// bias to float accuracy). z is a slice of a wider tensor, as in the model; D has tail lanes.
TEST(ScanCpu, Bf16ActivationsAreReadAndWrittenAsBf16) {
    const std::vector<FusedCase> bfCases = {{2, 37, 40, 16, true, true, true, true, false},
                                       {1, 19, 9, 5, true, true, true, true, false},
                                       {3, 16, 16, 8, false, true, false, true, false}};
    for (const auto& isa : mts::scan_cpu::availableIsas()) {
        IsaScope scope(isa);
        for (const auto& c : bfCases) {
            const std::string where = isa + " D" + std::to_string(c.D) + " N" + std::to_string(c.N);
            Made m = makeInputs(c, torch::kFloat32, 99 + c.D);
            mts::ScanInputs lo = m.in, hi = m.in;
            Tensor zWide;
            for (Tensor* t : {&lo.u, &lo.delta, &lo.z}) {
                if (t->defined()) *t = t->detach().to(torch::kBFloat16);
            }
            if (c.z) {
                zWide = torch::cat({torch::randn({c.B, c.L, 3}).to(torch::kBFloat16), lo.z}, 2).requires_grad_(true);
                lo.z = zWide.narrow(2, 3, c.D);
            }
            for (Tensor* t : {&hi.u, &hi.delta, &hi.z})
                if (t->defined()) *t = t->detach().to(torch::kBFloat16).to(torch::kFloat32);
            // Leaves in the same order on both sides: u, delta, (z), then the fp32 inputs.
            auto leaves = [](mts::ScanInputs& s, const Tensor& zLeaf) {
                std::vector<Tensor> out;
                for (Tensor* t : {&s.u, &s.delta, &s.z, &s.A, &s.Bm, &s.Cm, &s.Dskip, &s.deltaBias}) {
                    if (!t->defined()) continue;
                    if (t == &s.z && zLeaf.defined()) {
                        out.push_back(zLeaf);
                        continue;
                    }
                    *t = t->detach().requires_grad_(true);
                    out.push_back(*t);
                }
                return out;
            };
            const std::vector<Tensor> loLeaves = leaves(lo, zWide), hiLeaves = leaves(hi, Tensor());
            auto got = mts::selectiveScanFusedCpu(lo, true);
            auto ref = mts::selectiveScanFusedCpu(hi, true);
            ASSERT_EQ(got.y.scalar_type(), torch::kBFloat16) << where;
            EXPECT_EQ(got.lastState.scalar_type(), torch::kFloat32) << where;
            EXPECT_TRUE(torch::equal(got.y, ref.y.to(torch::kBFloat16))) << where << " y";
            EXPECT_LE(relErr(got.lastState, ref.lastState), 1e-6) << where << " lastState";

            Tensor gy = torch::randn({c.B, c.L, c.D}).to(torch::kBFloat16);
            auto gGot = torch::autograd::grad({got.y}, loLeaves, {gy});
            auto gRef = torch::autograd::grad({ref.y}, hiLeaves, {gy.to(torch::kFloat32)});
            ASSERT_EQ(gGot.size(), gRef.size());
            const size_t nAct = c.z ? 3 : 2;
            for (size_t i = 0; i < gGot.size(); ++i) {
                Tensor g = gGot[i];
                if (c.z && i == 2) g = g.narrow(2, 3, c.D);  // dz inside the wider tensor's gradient
                if (i < nAct) {
                    EXPECT_EQ(g.scalar_type(), torch::kBFloat16) << where << " grad " << i;
                    // One bf16 rounding of the same fp32 value: at most half an ulp, 2^-8 relative.
                    const Tensor r = gRef[i];
                    const double worst = ((g.to(torch::kFloat32) - r).abs() - r.abs() * (1.0 / 256)).max().item<double>();
                    EXPECT_LE(worst, 1e-30) << where << " grad " << i;
                } else {
                    EXPECT_EQ(g.scalar_type(), torch::kFloat32) << where << " grad " << i;
                    EXPECT_LE(relErr(g, gRef[i]), 1e-5) << where << " grad " << i;
                }
            }
        }
    }
}

// Mixed dtypes (bf16 u, fp32 delta) are not the autocast layout: everything runs in fp32.
TEST(ScanCpu, MixedBf16AndFloatInputsRunInFloat32) {
    Made m = makeInputs({2, 13, 16, 16, true, true, true, true, false}, torch::kFloat32, 98);
    mts::ScanInputs in = m.in;
    in.u = in.u.detach().to(torch::kBFloat16).requires_grad_(true);
    auto got = mts::selectiveScanFusedCpu(in);
    EXPECT_EQ(got.y.scalar_type(), torch::kFloat32);
    mts::ScanInputs up = in;
    up.u = in.u.detach().to(torch::kFloat32);
    torch::NoGradGuard ng;
    EXPECT_LE(relErr(got.y.detach(), mts::test::scanOracle(up).y), 2e-4);
}

TEST(ScanCpu, NoGradPathGivesTheSameOutputs) {
    Made m = makeInputs({2, 30, 20, 16, true, true, true, true, true}, torch::kFloat32, 5);
    auto withGrad = mts::selectiveScanFusedCpu(m.in, true);
    torch::NoGradGuard ng;
    auto without = mts::selectiveScanFusedCpu(m.in, true);
    EXPECT_FALSE(without.y.requires_grad());
    EXPECT_TRUE(torch::equal(withGrad.y.detach(), without.y));
    EXPECT_TRUE(torch::equal(withGrad.lastState.detach(), without.lastState));
}

TEST(ScanCpu, BadShapesThrow) {
    Made m = makeInputs({1, 5, 8, 16, true, true, true, true, false}, torch::kFloat32, 3);
    torch::NoGradGuard ng;
    auto bad = m.in;
    bad.Bm = torch::randn({1, 5, 8});
    EXPECT_THROW(mts::selectiveScanFusedCpu(bad), c10::Error);
    bad = m.in;
    bad.z = torch::randn({1, 4, 8});
    EXPECT_THROW(mts::selectiveScanFusedCpu(bad), c10::Error);
    bad = m.in;
    bad.u = torch::randn({5, 8});
    EXPECT_THROW(mts::selectiveScanFusedCpu(bad), c10::Error);
    bad = m.in;
    bad.A = torch::randn({8, 300});
    EXPECT_THROW(mts::selectiveScanFusedCpu(bad), c10::Error);
}

}  // namespace
