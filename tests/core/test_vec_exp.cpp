// The vector exp / log1p / softplus of the CPU scan kernels against the C library, on a dense
// grid, for every instruction set this CPU supports.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <limits>
#include <vector>

#include <c10/util/BFloat16.h>
#include <gtest/gtest.h>

#include "mts/core/kernels/scan_cpu.h"

namespace {

struct IsaOverride {
    explicit IsaOverride(const std::string& isa) { mts::scan_cpu::setIsaOverride(isa); }
    ~IsaOverride() { mts::scan_cpu::setIsaOverride(""); }
};

std::vector<float> gridF(double lo, double hi, double step) {
    std::vector<float> x;
    for (double v = lo; v <= hi; v += step) x.push_back(float(v));
    return x;
}

TEST(VecExp, FloatRelativeErrorWithinStatedBoundOnDenseGrid) {
    // ~1.75 million points across the whole normal range, plus the boundaries.
    auto x = gridF(-87.3, 88.37, 1e-4);
    x.push_back(0.0f);
    x.push_back(-0.0f);
    x.push_back(1e-8f);
    for (const auto& isa : mts::scan_cpu::availableIsas()) {
        IsaOverride scope(isa);
        std::vector<float> y(x.size());
        mts::scan_cpu::vecExp(x.data(), y.data(), int64_t(x.size()));
        double worst = 0;
        float worstAt = 0;
        for (size_t i = 0; i < x.size(); ++i) {
            const double ref = std::exp(double(x[i]));
            const double rel = std::fabs(double(y[i]) - ref) / ref;
            if (rel > worst) {
                worst = rel;
                worstAt = x[i];
            }
        }
        {
            char buf[32];
            std::snprintf(buf, sizeof(buf), "%.3e", worst);
            RecordProperty("max_rel_err_" + isa, buf);
        }
        EXPECT_LE(worst, mts::scan_cpu::kVecExpMaxRelErrorF32) << isa << " worst at x = " << worstAt;
        // The bound is tight enough to mean something: a 2-ulp method, not a crude one.
        EXPECT_GT(worst, 1e-8) << isa;
    }
}

// Below the normal range: a subnormal (AVX-512, correctly scaled) or 0 (other paths), never
// more than the smallest normal float; exactly 0 from -104 down; NaN stays NaN.
TEST(VecExp, FloatFlushesBelowRangeAndSaturatesAbove) {
    std::vector<float> x = {-88.0f, -104.0f, -1e30f, -INFINITY, 88.7f, 200.0f, INFINITY, NAN, -100.0f};
    for (const auto& isa : mts::scan_cpu::availableIsas()) {
        IsaOverride scope(isa);
        std::vector<float> y(x.size());
        mts::scan_cpu::vecExp(x.data(), y.data(), int64_t(x.size()));
        EXPECT_GE(y[0], 0.0f) << isa;
        EXPECT_LE(y[0], std::numeric_limits<float>::min()) << isa;
        if (y[0] > 0) {
            EXPECT_NEAR(y[0] / std::exp(-88.0), 1.0, 1e-3) << isa;  // subnormal: fewer digits
        }
        EXPECT_GE(y[8], 0.0f) << isa;
        EXPECT_LE(y[8], std::numeric_limits<float>::min()) << isa;
        EXPECT_EQ(y[1], 0.0f) << isa;
        EXPECT_EQ(y[2], 0.0f) << isa;
        EXPECT_EQ(y[3], 0.0f) << isa;
        EXPECT_TRUE(std::isnan(y[7])) << isa;
        EXPECT_NEAR(y[4] / std::exp(double(88.37f)), 1.0, 1e-6) << isa;  // saturated
        EXPECT_EQ(y[5], y[4]) << isa;
        EXPECT_EQ(y[6], y[4]) << isa;
    }
}

TEST(VecExp, DoubleRelativeErrorWithinStatedBound) {
    std::vector<double> x;
    for (double v = -708.0; v <= 709.0; v += 1.0 / 1024 + 1e-7) x.push_back(v);
    for (const auto& isa : mts::scan_cpu::availableIsas()) {
        IsaOverride scope(isa);
        std::vector<double> y(x.size());
        mts::scan_cpu::vecExp(x.data(), y.data(), int64_t(x.size()));
        double worst = 0;
        for (size_t i = 0; i < x.size(); ++i) {
            const double ref = std::exp(x[i]);
            worst = std::max(worst, std::fabs(y[i] - ref) / ref);
        }
        EXPECT_LE(worst, mts::scan_cpu::kVecExpMaxRelErrorF64) << isa;
    }
}

TEST(VecExp, Log1pAndSoftplusMatchLibm) {
    auto y01 = gridF(0.0, 1.0, 1e-5);
    auto xs = gridF(-60.0, 60.0, 1e-3);
    for (const auto& isa : mts::scan_cpu::availableIsas()) {
        IsaOverride scope(isa);
        std::vector<float> out(y01.size());
        mts::scan_cpu::vecLog1p01(y01.data(), out.data(), int64_t(y01.size()));
        double worst = 0;
        for (size_t i = 1; i < y01.size(); ++i) {
            const double ref = std::log1p(double(y01[i]));
            worst = std::max(worst, std::fabs(out[i] - ref) / ref);
        }
        EXPECT_EQ(out[0], 0.0f) << isa;
        EXPECT_LE(worst, 4e-7) << isa << " log1p";

        std::vector<float> sp(xs.size());
        mts::scan_cpu::vecSoftplus(xs.data(), sp.data(), int64_t(xs.size()));
        worst = 0;
        for (size_t i = 0; i < xs.size(); ++i) {
            const double x = xs[i];
            const double ref = x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
            worst = std::max(worst, std::fabs(sp[i] - ref) / ref);
        }
        EXPECT_LE(worst, 1e-6) << isa << " softplus";
    }
}

// The scan's decays are computed as 2^(dt * A log2 e): the base-2 form must hold the same bound.
TEST(VecExp, Exp2FloatAndDoubleWithinStatedBounds) {
    auto x = gridF(-125.9, 127.45, 1.3e-4);
    x.push_back(0.0f);
    x.push_back(-0.0f);
    x.push_back(0.5f);
    x.push_back(-0.5f);
    std::vector<double> xd;
    for (double v = -1020.0; v <= 1022.0; v += 1.0 / 512 + 1e-7) xd.push_back(v);
    for (const auto& isa : mts::scan_cpu::availableIsas()) {
        IsaOverride scope(isa);
        std::vector<float> y(x.size());
        mts::scan_cpu::vecExp2(x.data(), y.data(), int64_t(x.size()));
        double worst = 0;
        float worstAt = 0;
        for (size_t i = 0; i < x.size(); ++i) {
            const double ref = std::exp2(double(x[i]));
            const double rel = std::fabs(double(y[i]) - ref) / ref;
            if (rel > worst) {
                worst = rel;
                worstAt = x[i];
            }
        }
        EXPECT_LE(worst, mts::scan_cpu::kVecExpMaxRelErrorF32) << isa << " worst at x = " << worstAt;
        EXPECT_GT(worst, 1e-8) << isa;
        // Integers are exact powers of two.
        for (float k : {-20.0f, -1.0f, 0.0f, 1.0f, 7.0f}) {
            float out = 0;
            mts::scan_cpu::vecExp2(&k, &out, 1);
            EXPECT_NEAR(out / std::exp2(double(k)), 1.0, 2e-7) << isa << " 2^" << k;
        }
        std::vector<double> yd(xd.size());
        mts::scan_cpu::vecExp2(xd.data(), yd.data(), int64_t(xd.size()));
        double worstD = 0;
        for (size_t i = 0; i < xd.size(); ++i) worstD = std::max(worstD, std::fabs(yd[i] - std::exp2(xd[i])) / std::exp2(xd[i]));
        EXPECT_LE(worstD, mts::scan_cpu::kVecExpMaxRelErrorF64) << isa;
    }
}

TEST(VecExp, Exp2FlushesBelowRangeSaturatesAboveKeepsNaN) {
    std::vector<float> x = {-127.0f, -151.0f, -1e30f, -INFINITY, 127.9f, 500.0f, INFINITY, NAN};
    for (const auto& isa : mts::scan_cpu::availableIsas()) {
        IsaOverride scope(isa);
        std::vector<float> y(x.size());
        mts::scan_cpu::vecExp2(x.data(), y.data(), int64_t(x.size()));
        EXPECT_GE(y[0], 0.0f) << isa;
        EXPECT_LE(y[0], std::numeric_limits<float>::min()) << isa;
        EXPECT_EQ(y[1], 0.0f) << isa;
        EXPECT_EQ(y[2], 0.0f) << isa;
        EXPECT_EQ(y[3], 0.0f) << isa;
        EXPECT_TRUE(std::isfinite(y[4])) << isa;
        EXPECT_GT(y[4], 1e38f) << isa;
        EXPECT_EQ(y[5], y[4]) << isa;
        EXPECT_EQ(y[6], y[4]) << isa;
        EXPECT_TRUE(std::isnan(y[7])) << isa;
    }
}

TEST(VecExp, SoftplusWithSigmoidFromOneExpMatchesLibm) {
    auto xs = gridF(-60.0, 60.0, 7e-4);
    for (const auto& isa : mts::scan_cpu::availableIsas()) {
        IsaOverride scope(isa);
        std::vector<float> sp(xs.size()), sig(xs.size());
        mts::scan_cpu::vecSoftplusSigmoid(xs.data(), sp.data(), sig.data(), int64_t(xs.size()));
        double worstSp = 0, worstSig = 0;
        for (size_t i = 0; i < xs.size(); ++i) {
            const double x = xs[i];
            const double refSp = x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
            const double refSig = 1.0 / (1.0 + std::exp(-x));
            worstSp = std::max(worstSp, std::fabs(sp[i] - refSp) / refSp);
            worstSig = std::max(worstSig, std::fabs(sig[i] - refSig) / refSig);
        }
        EXPECT_LE(worstSp, 1e-6) << isa << " softplus";
        EXPECT_LE(worstSig, 1e-6) << isa << " sigmoid";
    }
}

TEST(VecExp, OddLengthsUseTheTailPath) {
    for (int n : {1, 3, 17, 31}) {
        std::vector<float> x(n), y(n);
        for (int i = 0; i < n; ++i) x[i] = 0.37f * i - 3.0f;
        mts::scan_cpu::vecExp(x.data(), y.data(), n);
        for (int i = 0; i < n; ++i) EXPECT_NEAR(y[i] / std::exp(double(x[i])), 1.0, 1e-6) << n << " " << i;
    }
}

// The bf16 stores of the kernels round as c10::BFloat16 does (so a bf16 activation written by
// a kernel equals the fp32 one passed through .to(kBFloat16)); loads widen exactly.
TEST(VecExp, Bf16RoundingMatchesC10AndWideningIsExact) {
    std::vector<float> x = {0.0f, -0.0f, 1.0f, -1.5f, 3.14159265f, 1e-40f, -1e-42f, 65504.0f, 3.0e38f,
                            std::numeric_limits<float>::max(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::quiet_NaN()};
    // Exact ties (low 16 bits 0x8000) with even and odd kept parts, and their neighbours.
    for (uint32_t hi : {0x3F80u, 0x3F81u, 0xC2F6u, 0x7F7Fu, 0x0001u}) {
        for (uint32_t lo : {0x7FFFu, 0x8000u, 0x8001u}) {
            const uint32_t bits = hi << 16 | lo;
            float f;
            std::memcpy(&f, &bits, 4);
            x.push_back(f);
        }
    }
    for (int i = 0; i < 5000; ++i) x.push_back(float(std::ldexp(std::sin(i * 0.731), (i % 60) - 30)));
    for (const auto& isa : mts::scan_cpu::availableIsas()) {
        IsaOverride scope(isa);
        std::vector<uint16_t> bits(x.size());
        mts::scan_cpu::vecToBf16(x.data(), bits.data(), int64_t(x.size()));
        std::vector<float> back(x.size());
        mts::scan_cpu::vecFromBf16(bits.data(), back.data(), int64_t(x.size()));
        for (size_t i = 0; i < x.size(); ++i) {
            const c10::BFloat16 ref(x[i]);
            if (std::isnan(x[i])) {
                EXPECT_TRUE(std::isnan(back[i])) << isa << " at " << i;
                continue;
            }
            EXPECT_EQ(bits[i], ref.x) << isa << " x=" << x[i];
            EXPECT_EQ(back[i], float(ref)) << isa << " x=" << x[i];
        }
    }
}

}  // namespace
