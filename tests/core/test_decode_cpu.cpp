// Batch-1 decoding kernels (kernels/decode_cpu.h) against references computed in double, on
// every ISA this CPU has (AVX2 and generic), with odd sizes that exercise the vector tails and
// the Q8_0 column padding.
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/kernels/decode_cpu.h"
#include "mts/core/kernels/scan_cpu.h"
#include "mts/core/runtime/errors.h"

namespace {

using mts::decode::PackedMatrix;
using mts::decode::WeightType;

std::vector<float> randomVector(int64_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = dist(rng);
    return v;
}

// Restores the automatic ISA choice after each test.
class DecodeCpu : public ::testing::Test {
protected:
    void TearDown() override { mts::scan_cpu::setIsaOverride(""); }
};

TEST_F(DecodeCpu, PackedRowsRoundWithinEachTypesStep) {
    const int64_t rows = 3, cols = 70;  // 70: Q8_0 pads to 96
    const auto w = randomVector(rows * cols, 1);
    const std::vector<std::pair<WeightType, double>> types = {
        {WeightType::F32, 0.0}, {WeightType::Bf16, 1.0 / 256}, {WeightType::F16, 1.0 / 2048}};
    for (const auto& [type, rel] : types) {
        const PackedMatrix m = mts::decode::packMatrix(w.data(), rows, cols, type);
        std::vector<float> row(cols);
        for (int64_t r = 0; r < rows; ++r) {
            mts::decode::unpackRow(m, r, row.data());
            for (int64_t c = 0; c < cols; ++c)
                EXPECT_LE(std::fabs(row[c] - w[r * cols + c]), rel * std::fabs(w[r * cols + c]) + 1e-30)
                    << mts::decode::toString(type);
        }
    }
    // Q8_0: error at most half a step of its block's scale max|w| / 127.
    const PackedMatrix q = mts::decode::packMatrix(w.data(), rows, cols, WeightType::Q8_0);
    EXPECT_EQ(q.paddedCols(), 96);
    EXPECT_EQ(q.rowBytes(), 3 * 34);
    std::vector<float> row(cols);
    for (int64_t r = 0; r < rows; ++r) {
        mts::decode::unpackRow(q, r, row.data());
        for (int64_t b = 0; b * 32 < cols; ++b) {
            double amax = 0;
            for (int64_t c = b * 32; c < std::min<int64_t>(cols, b * 32 + 32); ++c)
                amax = std::max(amax, std::fabs(static_cast<double>(w[r * cols + c])));
            for (int64_t c = b * 32; c < std::min<int64_t>(cols, b * 32 + 32); ++c)
                EXPECT_LE(std::fabs(row[c] - w[r * cols + c]), amax / 127 * 0.57 + 1e-6);  // half a step, plus the f16 scale's rounding (127 x 2^-11 steps)
        }
    }
}

TEST_F(DecodeCpu, HalfConversionMatchesLibTorch) {
    auto v = randomVector(2000, 2, 10.0f);
    v.insert(v.end(), {0.0f, -0.0f, 65504.0f, 70000.0f, -1e-7f, 3e-5f, 6.1e-5f, 1e-8f});
    std::vector<float> out(v.size());
    const PackedMatrix m = mts::decode::packMatrix(v.data(), 1, static_cast<int64_t>(v.size()), WeightType::F16);
    mts::decode::unpackRow(m, 0, out.data());
    for (size_t i = 0; i < v.size(); ++i) {
        const float ref = static_cast<float>(c10::Half(v[i]));
        EXPECT_EQ(out[i], ref) << v[i];
    }
    const PackedMatrix b = mts::decode::packMatrix(v.data(), 1, static_cast<int64_t>(v.size()), WeightType::Bf16);
    mts::decode::unpackRow(b, 0, out.data());
    for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(out[i], static_cast<float>(c10::BFloat16(v[i]))) << v[i];
}

TEST_F(DecodeCpu, MatvecMatchesDoubleReferenceOnEveryIsaAndType) {
    for (const std::string& isa : mts::scan_cpu::availableIsas()) {
        mts::scan_cpu::setIsaOverride(isa);
        for (const int64_t cols : {7, 32, 70, 768}) {
            const int64_t rows = 37;
            const auto w = randomVector(rows * cols, 3 + static_cast<uint32_t>(cols));
            const auto x = randomVector(cols, 4);
            for (WeightType type : {WeightType::F32, WeightType::Bf16, WeightType::F16, WeightType::Q8_0}) {
                const PackedMatrix m = mts::decode::packMatrix(w.data(), rows, cols, type);
                std::vector<float> y(rows, -1.0f);
                mts::decode::matvec(m, x.data(), y.data());
                // Reference in double on the packed (rounded) weights; for Q8_0 the kernel also
                // rounds x to 8 bits per block of 32 (scale max|x| / 127): allowed error
                // sum|w| * that half step, plus fp32 accumulation (1e-5 of sum|w x|).
                std::vector<float> row(cols);
                double xmaxBlockStep = 0;
                for (int64_t b = 0; b * 32 < cols; ++b) {
                    double amax = 0;
                    for (int64_t c = b * 32; c < std::min<int64_t>(cols, b * 32 + 32); ++c)
                        amax = std::max(amax, std::fabs(static_cast<double>(x[c])));
                    xmaxBlockStep = std::max(xmaxBlockStep, amax / 127 * 0.57);
                }
                for (int64_t r = 0; r < rows; ++r) {
                    mts::decode::unpackRow(m, r, row.data());
                    double ref = 0, absSum = 0, wAbs = 0;
                    for (int64_t c = 0; c < cols; ++c) {
                        ref += static_cast<double>(row[c]) * x[c];
                        absSum += std::fabs(static_cast<double>(row[c]) * x[c]);
                        wAbs += std::fabs(static_cast<double>(row[c]));
                    }
                    double tol = 1e-5 * absSum + 1e-6;
                    if (type == WeightType::Q8_0) tol += wAbs * xmaxBlockStep + 1e-3 * absSum;
                    EXPECT_NEAR(y[r], ref, tol) << isa << " " << mts::decode::toString(type) << " cols " << cols
                                                << " row " << r;
                }
            }
        }
    }
}

TEST_F(DecodeCpu, ConvStepMatchesDoubleReferenceAndShiftsTheState) {
    const int64_t di = 5, k = 4;
    const auto w = randomVector(di * k, 5);
    const auto bias = randomVector(di, 6);
    auto state = randomVector(di * (k - 1), 7);
    const auto x = randomVector(di, 8);
    const auto before = state;
    std::vector<float> y(di);
    mts::decode::convStep(x.data(), w.data(), bias.data(), state.data(), y.data(), di, k);
    for (int64_t i = 0; i < di; ++i) {
        double ref = bias[i];
        for (int64_t j = 0; j < k - 1; ++j) ref += static_cast<double>(w[i * k + j]) * before[i * (k - 1) + j];
        ref += static_cast<double>(w[i * k + k - 1]) * x[i];
        EXPECT_NEAR(y[i], ref, 1e-5);
        EXPECT_EQ(state[i * (k - 1) + 0], before[i * (k - 1) + 1]);
        EXPECT_EQ(state[i * (k - 1) + 1], before[i * (k - 1) + 2]);
        EXPECT_EQ(state[i * (k - 1) + 2], x[i]);
    }
}

TEST_F(DecodeCpu, SsmStepMatchesDoubleReference) {
    for (const std::string& isa : mts::scan_cpu::availableIsas()) {
        mts::scan_cpu::setIsaOverride(isa);
        const int64_t di = 19, n = 16;
        const auto u = randomVector(di, 9), dRaw = randomVector(di, 10), dBias = randomVector(di, 11);
        auto a = randomVector(di * n, 12);
        for (auto& v : a) v = -std::exp(v);
        const auto bm = randomVector(n, 13), cm = randomVector(n, 14), dskip = randomVector(di, 15),
                   z = randomVector(di, 16);
        auto h = randomVector(di * n, 17);
        const auto h0 = h;
        std::vector<float> y(di), scratch(di * n + 2 * di);
        mts::decode::ssmStep(u.data(), dRaw.data(), dBias.data(), a.data(), bm.data(), cm.data(), dskip.data(),
                             z.data(), h.data(), y.data(), di, n, scratch.data());
        for (int64_t i = 0; i < di; ++i) {
            const double pre = static_cast<double>(dRaw[i]) + dBias[i];
            const double delta = pre > 20 ? pre : std::log1p(std::exp(pre));
            double acc = 0;
            for (int64_t j = 0; j < n; ++j) {
                const double hn = std::exp(delta * a[i * n + j]) * h0[i * n + j] + delta * u[i] * bm[j];
                EXPECT_NEAR(h[i * n + j], hn, 1e-5 * (1 + std::fabs(hn))) << isa;
                acc += hn * cm[j];
            }
            acc += static_cast<double>(dskip[i]) * u[i];
            const double gate = z[i] / (1 + std::exp(-static_cast<double>(z[i])));
            EXPECT_NEAR(y[i], acc * gate, 1e-5 * (1 + std::fabs(acc * gate))) << isa;
        }
    }
}

// Mamba-2's per-head step: H = 6 heads of P = 3 channels in G = 2 groups, N = 27 (the AVX2
// kernel's 16-wide, 8-wide and scalar parts all run).
TEST_F(DecodeCpu, SsdStateStepMatchesDoubleReference) {
    for (const std::string& isa : mts::scan_cpu::availableIsas()) {
        mts::scan_cpu::setIsaOverride(isa);
        const int64_t heads = 6, p = 3, groups = 2, n = 27;
        const auto x = randomVector(heads * p, 20), bm = randomVector(groups * n, 21), cm = randomVector(groups * n, 22),
                   dskip = randomVector(heads, 23);
        auto dt = randomVector(heads, 24), a = randomVector(heads, 25);
        for (auto& v : dt) v = std::log1p(std::exp(v));
        for (auto& v : a) v = -std::exp(v);
        auto s = randomVector(heads * p * n, 26);
        const auto s0 = s;
        std::vector<float> y(heads * p);
        mts::decode::ssdStateStep(x.data(), dt.data(), a.data(), bm.data(), cm.data(), dskip.data(), s.data(), y.data(),
                                  heads, p, groups, n);
        for (int64_t h = 0; h < heads; ++h) {
            const int64_t g = h / (heads / groups);
            const double decay = std::exp(static_cast<double>(dt[h]) * a[h]);
            for (int64_t c = 0; c < p; ++c) {
                const int64_t i = h * p + c;
                double acc = static_cast<double>(dskip[h]) * x[i];
                for (int64_t j = 0; j < n; ++j) {
                    const double sn = decay * s0[i * n + j] + static_cast<double>(dt[h]) * x[i] * bm[g * n + j];
                    EXPECT_NEAR(s[i * n + j], sn, 1e-5 * (1 + std::fabs(sn))) << isa;
                    acc += sn * cm[g * n + j];
                }
                EXPECT_NEAR(y[i], acc, 1e-5 * (1 + std::fabs(acc))) << isa;
            }
        }
    }
}

TEST_F(DecodeCpu, MalformedQ8DataIsRefusedNamingTheTensor) {
    const int64_t rows = 2, cols = 40;  // 2 blocks per row
    auto w = randomVector(rows * cols, 18);
    PackedMatrix good = mts::decode::packMatrix(w.data(), rows, cols, WeightType::Q8_0);
    EXPECT_NO_THROW(mts::decode::adoptQ8_0(good.data, rows, cols, "blk.0.ssm_in.weight"));
    std::vector<uint8_t> shortData(good.data.begin(), good.data.end() - 1);
    try {
        mts::decode::adoptQ8_0(shortData, rows, cols, "blk.0.ssm_in.weight");
        FAIL() << "a truncated Q8_0 tensor was accepted";
    } catch (const mts::ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("blk.0.ssm_in.weight"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("136 bytes"), std::string::npos) << e.what();
    }
    std::vector<uint8_t> nanScale = good.data;
    nanScale[34] = 0x00;
    nanScale[35] = 0x7e;  // f16 NaN as the second block's scale
    EXPECT_THROW(mts::decode::adoptQ8_0(nanScale, rows, cols, "t"), mts::ConfigError);
    EXPECT_THROW(mts::decode::weightTypeFromString("int4"), mts::ConfigError);
    EXPECT_EQ(mts::decode::weightTypeFromString("q8_0"), WeightType::Q8_0);
}

}  // namespace
