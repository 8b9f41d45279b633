// The reference selective scan against a scalar double-precision loop written from the
// equations in selective_scan.h.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/kernels/selective_scan.h"

namespace {

struct Shapes {
    int64_t b = 2, l = 7, d = 5, n = 3;
};

mts::ScanInputs randomInputs(const Shapes& s, bool withOptional) {
    mts::ScanInputs in;
    in.u = torch::randn({s.b, s.l, s.d});
    in.delta = torch::randn({s.b, s.l, s.d}) * 0.5;
    in.A = -torch::rand({s.d, s.n}) * 2.0 - 0.1;
    in.Bm = torch::randn({s.b, s.l, s.n});
    in.Cm = torch::randn({s.b, s.l, s.n});
    if (withOptional) {
        in.Dskip = torch::randn({s.d});
        in.z = torch::randn({s.b, s.l, s.d});
        in.deltaBias = torch::randn({s.d}) * 0.3;
        in.initialState = torch::randn({s.b, s.d, s.n});
    }
    return in;
}

// y[b, t, d] from the equations, one scalar at a time; lastState (B, D, N) as well.
std::pair<torch::Tensor, torch::Tensor> naiveScan(const mts::ScanInputs& in) {
    const auto u = in.u.to(torch::kFloat64), delta = in.delta.to(torch::kFloat64), A = in.A.to(torch::kFloat64);
    const auto Bm = in.Bm.to(torch::kFloat64), Cm = in.Cm.to(torch::kFloat64);
    const int64_t nb = u.size(0), nl = u.size(1), nd = u.size(2), nn = A.size(1);
    auto y = torch::zeros({nb, nl, nd}, torch::kFloat64);
    auto last = torch::zeros({nb, nd, nn}, torch::kFloat64);
    auto ua = u.accessor<double, 3>(), da = delta.accessor<double, 3>(), ba = Bm.accessor<double, 3>(),
         ca = Cm.accessor<double, 3>();
    auto aa = A.accessor<double, 2>();
    auto ya = y.accessor<double, 3>();
    for (int64_t b = 0; b < nb; ++b) {
        for (int64_t d = 0; d < nd; ++d) {
            std::vector<double> h(static_cast<size_t>(nn), 0.0);
            if (in.initialState.defined())
                for (int64_t n = 0; n < nn; ++n) h[n] = in.initialState[b][d][n].item<double>();
            const double bias = in.deltaBias.defined() ? in.deltaBias[d].item<double>() : 0.0;
            const double dskip = in.Dskip.defined() ? in.Dskip[d].item<double>() : 0.0;
            for (int64_t t = 0; t < nl; ++t) {
                double dt = da[b][t][d] + bias;
                if (in.deltaSoftplus) dt = dt > 20.0 ? dt : std::log1p(std::exp(dt));
                double out = 0.0;
                for (int64_t n = 0; n < nn; ++n) {
                    h[n] = std::exp(dt * aa[d][n]) * h[n] + dt * ba[b][t][n] * ua[b][t][d];
                    out += h[n] * ca[b][t][n];
                }
                out += dskip * ua[b][t][d];
                if (in.z.defined()) {
                    const double z = in.z[b][t][d].item<double>();
                    out *= z / (1.0 + std::exp(-z));
                }
                ya[b][t][d] = out;
            }
            for (int64_t n = 0; n < nn; ++n) last[b][d][n] = h[n];
        }
    }
    return {y, last};
}

TEST(ScanReference, MatchesScalarLoopWithoutOptionalInputs) {
    torch::manual_seed(1);
    Shapes s;
    auto in = randomInputs(s, false);
    auto out = mts::selectiveScanReference(in, true);
    auto [y, last] = naiveScan(in);
    EXPECT_LT((out.y.to(torch::kFloat64) - y).abs().max().item<double>(), 1e-5);
    EXPECT_LT((out.lastState.to(torch::kFloat64) - last).abs().max().item<double>(), 1e-5);
}

TEST(ScanReference, MatchesScalarLoopWithSkipGateBiasAndInitialState) {
    torch::manual_seed(2);
    Shapes s;
    s.l = 9;
    auto in = randomInputs(s, true);
    auto out = mts::selectiveScanReference(in, true);
    auto [y, last] = naiveScan(in);
    EXPECT_LT((out.y.to(torch::kFloat64) - y).abs().max().item<double>(), 1e-5);
    EXPECT_LT((out.lastState.to(torch::kFloat64) - last).abs().max().item<double>(), 1e-5);
}

TEST(ScanReference, NoSoftplusUsesDeltaAsIs) {
    torch::manual_seed(3);
    Shapes s;
    auto in = randomInputs(s, false);
    in.delta = torch::rand({s.b, s.l, s.d}) * 0.2;
    in.deltaSoftplus = false;
    auto out = mts::selectiveScanReference(in);
    EXPECT_FALSE(out.lastState.defined());
    auto [y, last] = naiveScan(in);
    EXPECT_LT((out.y.to(torch::kFloat64) - y).abs().max().item<double>(), 1e-5);
}

TEST(ScanReference, SplitScanWithCarriedStateEqualsWholeScan) {
    torch::manual_seed(4);
    Shapes s;
    s.l = 10;
    auto in = randomInputs(s, true);
    in.initialState = torch::Tensor();
    auto whole = mts::selectiveScanReference(in, true);

    auto part = [&](int64_t start, int64_t len) {
        mts::ScanInputs p = in;
        p.u = in.u.narrow(1, start, len);
        p.delta = in.delta.narrow(1, start, len);
        p.Bm = in.Bm.narrow(1, start, len);
        p.Cm = in.Cm.narrow(1, start, len);
        p.z = in.z.narrow(1, start, len);
        return p;
    };
    auto first = mts::selectiveScanReference(part(0, 4), true);
    auto second = part(4, 6);
    second.initialState = first.lastState;
    auto rest = mts::selectiveScanReference(second, true);
    EXPECT_LT((torch::cat({first.y, rest.y}, 1) - whole.y).abs().max().item<float>(), 1e-5);
    EXPECT_LT((rest.lastState - whole.lastState).abs().max().item<float>(), 1e-5);
}

TEST(ScanReference, GradientMatchesFiniteDifference) {
    torch::manual_seed(5);
    Shapes s;
    s.b = 1;
    s.l = 4;
    s.d = 2;
    s.n = 2;
    auto in = randomInputs(s, true);
    in.initialState = torch::Tensor();
    in.u.requires_grad_(true);
    in.A.requires_grad_(true);
    auto loss = mts::selectiveScanReference(in).y.sum();
    loss.backward();
    const double eps = 1e-3;
    for (auto* t : {&in.u, &in.A}) {
        torch::Tensor g = t->grad();
        auto flat = t->detach().view(-1);
        for (int64_t i = 0; i < flat.numel(); i += 3) {
            torch::NoGradGuard noGrad;
            const float orig = flat[i].item<float>();
            flat[i] = orig + eps;
            const double up = mts::selectiveScanReference(in).y.sum().item<double>();
            flat[i] = orig - eps;
            const double down = mts::selectiveScanReference(in).y.sum().item<double>();
            flat[i] = orig;
            EXPECT_NEAR(g.view(-1)[i].item<double>(), (up - down) / (2 * eps), 2e-2) << "element " << i;
        }
    }
}

TEST(ScanReference, RejectsBadShapesAndDtypes) {
    Shapes s;
    auto in = randomInputs(s, false);
    auto bad = in;
    bad.Bm = torch::randn({s.b, s.l, s.n + 1});
    EXPECT_THROW(mts::selectiveScanReference(bad), std::invalid_argument);
    bad = in;
    bad.u = in.u.to(torch::kFloat64);
    EXPECT_THROW(mts::selectiveScanReference(bad), std::invalid_argument);
    bad = in;
    bad.initialState = torch::zeros({s.b + 1, s.d, s.n});
    EXPECT_THROW(mts::selectiveScanReference(bad), std::invalid_argument);
}

TEST(ScanDispatch, AutoAndReferenceAgreeAndNamesAreStable) {
    torch::manual_seed(6);
    Shapes s;
    auto in = randomInputs(s, true);
    auto ref = mts::selectiveScan(in, true, mts::ScanBackend::Reference);
    auto autoOut = mts::selectiveScan(in, true, mts::ScanBackend::Auto);
    EXPECT_LT((ref.y - autoOut.y).abs().max().item<float>(), 1e-4);
    EXPECT_LT((ref.lastState - autoOut.lastState).abs().max().item<float>(), 1e-4);
    EXPECT_EQ(mts::toString(mts::ScanBackend::Reference), "reference");
    EXPECT_NE(mts::resolveScanBackend(torch::kCPU), mts::ScanBackend::Auto);
}

}  // namespace
