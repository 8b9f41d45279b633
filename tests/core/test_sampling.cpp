// Sampling filters on hand-made logits, and the Sampler's vocabulary limit and seeding.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/generate/generation.h"
#include "mts/core/runtime/errors.h"

namespace {

torch::Tensor logitsOf(const std::vector<float>& v) { return torch::tensor(v, torch::kFloat); }

// Logits whose softmax is exactly the given distribution.
torch::Tensor fromProbs(const std::vector<float>& p) { return torch::log(logitsOf(p)); }

std::vector<int64_t> keptIds(const torch::Tensor& filtered) {
    std::vector<int64_t> out;
    auto a = filtered.accessor<float, 1>();
    for (int64_t i = 0; i < filtered.size(0); ++i) {
        if (std::isfinite(a[i])) out.push_back(i);
    }
    return out;
}

TEST(Sampling, TopKKeepsExactlyTheKLargest) {
    torch::manual_seed(3);
    torch::Tensor x = torch::randn({50});
    torch::Tensor out = mts::applyTopK(x, 5);
    auto kept = keptIds(out);
    ASSERT_EQ(kept.size(), 5u);
    auto top = std::get<1>(torch::topk(x, 5));
    for (int64_t i = 0; i < 5; ++i) {
        EXPECT_NE(std::find(kept.begin(), kept.end(), top[i].item<int64_t>()), kept.end());
    }
    for (int64_t id : kept) EXPECT_FLOAT_EQ(out[id].item<float>(), x[id].item<float>());
}

TEST(Sampling, TopKBreaksTiesByLowerIdAndIgnoresOutOfRangeK) {
    torch::Tensor flat = torch::zeros({10});
    EXPECT_EQ(keptIds(mts::applyTopK(flat, 3)), (std::vector<int64_t>{0, 1, 2}));
    EXPECT_EQ(keptIds(mts::applyTopK(flat, 0)).size(), 10u);
    EXPECT_EQ(keptIds(mts::applyTopK(flat, 99)).size(), 10u);
}

TEST(Sampling, TopPKeepsTheSmallestSetReachingTheMass) {
    // Shuffled so the filter must sort: probabilities 0.15, 0.5, 0.05, 0.3.
    torch::Tensor x = fromProbs({0.15f, 0.5f, 0.05f, 0.3f});
    EXPECT_EQ(keptIds(mts::applyTopP(x, 0.45)), (std::vector<int64_t>{1}));
    EXPECT_EQ(keptIds(mts::applyTopP(x, 0.7)), (std::vector<int64_t>{1, 3}));
    EXPECT_EQ(keptIds(mts::applyTopP(x, 0.9)), (std::vector<int64_t>{0, 1, 3}));
    EXPECT_EQ(keptIds(mts::applyTopP(x, 0.99)).size(), 4u);
    EXPECT_EQ(keptIds(mts::applyTopP(x, 1e-6)), (std::vector<int64_t>{1}));  // never empty
}

TEST(Sampling, MinPDropsTokensBelowAFractionOfTheTop) {
    torch::Tensor x = fromProbs({0.5f, 0.3f, 0.15f, 0.05f});
    EXPECT_EQ(keptIds(mts::applyMinP(x, 0.2)), (std::vector<int64_t>{0, 1, 2}));   // threshold 0.10
    EXPECT_EQ(keptIds(mts::applyMinP(x, 0.5)), (std::vector<int64_t>{0, 1}));      // threshold 0.25
    EXPECT_EQ(keptIds(mts::applyMinP(x, 0.7)), (std::vector<int64_t>{0}));         // threshold 0.35
    EXPECT_EQ(keptIds(mts::applyMinP(x, 0.0)).size(), 4u);
}

TEST(Sampling, RepetitionPenaltyMakesSeenTokensLessLikelyOnce) {
    torch::Tensor x = logitsOf({2.0f, -2.0f, 1.0f, 0.5f});
    torch::Tensor out = mts::applyRepetitionPenalty(x, {0, 1, 0, 0, 7 /* out of range: ignored */}, 2.0);
    EXPECT_FLOAT_EQ(out[0].item<float>(), 1.0f);   // positive: divided, once despite three hits
    EXPECT_FLOAT_EQ(out[1].item<float>(), -4.0f);  // negative: multiplied
    EXPECT_FLOAT_EQ(out[2].item<float>(), 1.0f);   // unseen: unchanged
    EXPECT_FLOAT_EQ(x[0].item<float>(), 2.0f);     // input untouched
    // A penalty below 1 favours the seen ids instead.
    EXPECT_GT(mts::applyRepetitionPenalty(x, {0}, 0.5)[0].item<float>(), 2.0f);
}

TEST(Sampling, RepetitionWindowOnlyLooksAtRecentIds) {
    mts::SamplingOptions o;
    o.temperature = 0.0;
    o.repetitionPenalty = 100.0;
    o.repetitionWindow = 2;
    mts::Sampler s(o, 3);
    torch::Tensor x = logitsOf({3.0f, 2.0f, 1.0f});
    // id 0 is outside the window of the last two ids: it stays the argmax.
    EXPECT_EQ(s.sample(x, {0, 1, 2}), 0);
    // Inside the window ids 0 and 1 drop to 0.03 and 0.02, below the unseen id 2.
    EXPECT_EQ(s.sample(x, {2, 0, 1}), 2);
}

TEST(Sampling, TemperatureZeroIsArgmaxWithLowestIdOnTies) {
    mts::SamplingOptions o;
    o.temperature = 0.0;
    mts::Sampler s(o, 5);
    EXPECT_EQ(s.sample(logitsOf({0.1f, 3.0f, -1.0f, 2.9f, 0.0f}), {}), 1);
    EXPECT_EQ(s.sample(logitsOf({1.0f, 2.0f, 2.0f, 0.0f, 2.0f}), {}), 1);
    auto p = s.probabilities(logitsOf({0.1f, 3.0f, -1.0f, 2.9f, 0.0f}), {});
    EXPECT_FLOAT_EQ(p[1].item<float>(), 1.0f);
    EXPECT_FLOAT_EQ(p.sum().item<float>(), 1.0f);
}

TEST(Sampling, TemperatureSharpensAndFlattens) {
    torch::Tensor x = fromProbs({0.6f, 0.3f, 0.1f});
    auto probsAt = [&](double t) {
        mts::SamplingOptions o;
        o.temperature = t;
        return mts::Sampler(o, 3).probabilities(x, {})[0].item<float>();
    };
    EXPECT_NEAR(probsAt(1.0), 0.6f, 1e-5);
    EXPECT_GT(probsAt(0.5), 0.6f + 0.1f);
    EXPECT_LT(probsAt(2.0), 0.6f - 0.1f);
}

TEST(Sampling, PaddedIdsBeyondTheVocabularyAreNeverSampled) {
    // 264 logits (vocabulary 257 padded to 8): the padding rows are by far the largest.
    torch::Tensor x = torch::zeros({1, 264});
    x.narrow(1, 257, 7).fill_(50.0f);
    for (double t : {0.0, 1.0, 5.0}) {
        mts::SamplingOptions o;
        o.temperature = t;
        o.seed = 11;
        mts::Sampler s(o, 257);
        for (int i = 0; i < 200; ++i) {
            const int32_t id = s.sample(x, {});
            ASSERT_GE(id, 0);
            ASSERT_LT(id, 257) << "temperature " << t;
        }
    }
}

TEST(Sampling, DrawsFollowTheDistributionAndRespectTheFilters) {
    torch::Tensor x = fromProbs({0.7f, 0.2f, 0.1f});
    mts::SamplingOptions o;
    o.seed = 5;
    mts::Sampler s(o, 3);
    std::vector<int> counts(3, 0);
    const int n = 4000;
    for (int i = 0; i < n; ++i) counts[s.sample(x, {})]++;
    EXPECT_NEAR(counts[0] / double(n), 0.7, 0.03);
    EXPECT_NEAR(counts[1] / double(n), 0.2, 0.03);
    EXPECT_NEAR(counts[2] / double(n), 0.1, 0.03);

    o.topK = 1;
    mts::Sampler k1(o, 3);
    for (int i = 0; i < 100; ++i) ASSERT_EQ(k1.sample(x, {}), 0);
}

TEST(Sampling, SameSeedSameDrawsOtherSeedOtherDraws) {
    torch::manual_seed(1);
    torch::Tensor x = torch::randn({100});
    auto draws = [&](uint64_t seed) {
        mts::SamplingOptions o;
        o.seed = seed;
        mts::Sampler s(o, 100);
        std::vector<int32_t> out;
        for (int i = 0; i < 50; ++i) out.push_back(s.sample(x, {}));
        return out;
    };
    EXPECT_EQ(draws(42), draws(42));
    EXPECT_NE(draws(42), draws(43));
}

TEST(Sampling, InvalidOptionsAreRejected) {
    auto bad = [](auto edit) {
        mts::SamplingOptions o;
        edit(o);
        return o;
    };
    EXPECT_THROW(bad([](auto& o) { o.temperature = -1; }).validate(), mts::ConfigError);
    EXPECT_THROW(bad([](auto& o) { o.topP = 0.0; }).validate(), mts::ConfigError);
    EXPECT_THROW(bad([](auto& o) { o.topP = 1.5; }).validate(), mts::ConfigError);
    EXPECT_THROW(bad([](auto& o) { o.minP = -0.1; }).validate(), mts::ConfigError);
    EXPECT_THROW(bad([](auto& o) { o.repetitionPenalty = 0.0; }).validate(), mts::ConfigError);
    EXPECT_THROW(bad([](auto& o) { o.topK = -2; }).validate(), mts::ConfigError);
    EXPECT_THROW(bad([](auto& o) { o.maxNewTokens = -1; }).validate(), mts::ConfigError);
    EXPECT_THROW(bad([](auto& o) { o.stopStrings = {""}; }).validate(), mts::ConfigError);
    EXPECT_NO_THROW(mts::SamplingOptions{}.validate());
    EXPECT_THROW(mts::Sampler(mts::SamplingOptions{}, 10).sample(torch::zeros({5}), {}), mts::ConfigError);
}

}  // namespace
