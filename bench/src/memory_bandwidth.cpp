// Streaming-read bandwidth probe (see memory_bandwidth.h).
#include "memory_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace mts::bench {
namespace {

// 32-byte vectors (GCC/Clang vector extension: AVX2 where the target has it, pairs of SSE2
// registers otherwise); four independent accumulators keep several loads in flight.
using Vec = uint64_t __attribute__((vector_size(32)));

uint64_t sumSlice(const Vec* p, size_t n) {
    Vec a = {0, 0, 0, 0}, b = a, c = a, d = a;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a += p[i];
        b += p[i + 1];
        c += p[i + 2];
        d += p[i + 3];
    }
    for (; i < n; ++i) a += p[i];
    const Vec s = a + b + c + d;
    return s[0] + s[1] + s[2] + s[3];
}

}  // namespace

BandwidthResult measureReadBandwidth(int64_t mib, int passes, int threads) {
    if (mib < 1 || passes < 1 || threads < 1) throw std::invalid_argument("bandwidth probe: sizes must be >= 1");
    const size_t bytes = static_cast<size_t>(mib) << 20;
    const size_t count = bytes / sizeof(Vec);
    std::unique_ptr<Vec[]> buffer(new Vec[count]);
    std::memset(static_cast<void*>(buffer.get()), 1, count * sizeof(Vec));  // fault every page in

    BandwidthResult result;
    result.bytes = static_cast<int64_t>(count * sizeof(Vec));
    result.passes = passes;
    std::vector<uint64_t> sums(static_cast<size_t>(threads), 0);
    for (int pass = 0; pass < passes; ++pass) {
        const auto start = std::chrono::steady_clock::now();
        std::vector<std::thread> pool;
        const size_t per = (count + static_cast<size_t>(threads) - 1) / static_cast<size_t>(threads);
        for (int t = 0; t < threads; ++t) {
            const size_t begin = std::min(count, per * static_cast<size_t>(t));
            const size_t end = std::min(count, begin + per);
            pool.emplace_back([&, t, begin, end] { sums[static_cast<size_t>(t)] += sumSlice(buffer.get() + begin, end - begin); });
        }
        for (auto& th : pool) th.join();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        result.bestGBs = std::max(result.bestGBs, static_cast<double>(result.bytes) / s / 1e9);
    }
    // The sums depend on every byte read, so the compiler cannot drop the loads.
    volatile uint64_t sink = 0;
    for (uint64_t s : sums) sink = sink + s;
    (void)sink;
    return result;
}

}  // namespace mts::bench
