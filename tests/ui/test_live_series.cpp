#include <atomic>
#include <thread>

#include <QSignalSpy>

#include <gtest/gtest.h>

#include "mts/ui/live_series.h"
#include "ui_test_support.h"

using namespace mts::ui;

TEST(SeriesBuffer, DrainReturnsEveryPointOnceInOrder) {
    SeriesBuffer buffer(2);
    std::thread writer([&] {
        for (int i = 0; i < 5000; ++i) buffer.append(i % 2, {double(i), double(i) * 10, double(i)});
    });
    std::vector<std::vector<MetricPoint>> all(2);
    while (true) {
        const bool done = !writer.joinable();
        auto batch = buffer.drain();
        for (int s = 0; s < 2; ++s) all[s].insert(all[s].end(), batch[s].begin(), batch[s].end());
        if (done) break;
        if (all[0].size() + all[1].size() >= 5000) {
            writer.join();
        }
    }
    ASSERT_EQ(all[0].size(), 2500u);
    ASSERT_EQ(all[1].size(), 2500u);
    for (size_t i = 1; i < all[0].size(); ++i) EXPECT_LT(all[0][i - 1].step, all[0][i].step);
    EXPECT_TRUE(buffer.drain()[0].empty());
}

TEST(SeriesBuffer, IgnoresUnknownSeries) {
    SeriesBuffer buffer(1);
    buffer.append(3, {1, 1, 1});
    buffer.append(-1, {1, 1, 1});
    EXPECT_TRUE(buffer.drain()[0].empty());
}

TEST(ReplotCoalescer, ManyRequestsFromAThreadCollapse) {
    mts::test::uiApp();
    ReplotCoalescer coalescer(40);
    QSignalSpy spy(&coalescer, &ReplotCoalescer::ready);
    std::atomic<bool> done{false};
    std::thread worker([&] {
        for (int i = 0; i < 20000; ++i) coalescer.request();
        done = true;
    });
    mts::test::waitUntil([&] { return done.load(); }, 10000);
    worker.join();
    // One more fire for the requests after the last fire, then nothing.
    mts::test::waitUntil([&] { return false; }, 200);
    EXPECT_GE(spy.count(), 1);
    EXPECT_LT(spy.count(), 200);  // 20000 requests, far fewer replots
    const int settled = spy.count();
    mts::test::waitUntil([&] { return false; }, 150);
    EXPECT_EQ(spy.count(), settled);
}

// Several workers append while the GUI drains (issue 13, item 10: under the tsan preset this
// reported a race between append()'s range check and drain()'s swap).
TEST(SeriesBuffer, ManyWritersAndADrainerLoseNothing) {
    SeriesBuffer buffer(3);
    constexpr int kWriters = 4, kPoints = 3000;
    std::atomic<int> finished{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w)
        writers.emplace_back([&, w] {
            for (int i = 0; i < kPoints; ++i) buffer.append(i % 3, {double(w), double(i), double(i)});
            ++finished;
        });
    size_t total = 0;
    std::vector<int> perWriter(kWriters, 0);
    while (true) {
        const bool done = finished.load() == kWriters;
        for (const auto& series : buffer.drain())
            for (const auto& p : series) {
                ++total;
                ++perWriter[size_t(p.step)];
            }
        if (done) break;
    }
    for (auto& t : writers) t.join();
    EXPECT_EQ(total, size_t(kWriters * kPoints));
    for (int w = 0; w < kWriters; ++w) EXPECT_EQ(perWriter[size_t(w)], kPoints);
    EXPECT_EQ(buffer.seriesCount(), 3);
}
