#pragma once
// Wall-clock counters of the fused CPU kernels (scan_cpu.cpp, ssd_cpu.cpp) for the training
// benchmark's step breakdown. Private to mts_core. Thread-safe (atomics).
#include <atomic>
#include <chrono>
#include <cstdint>

namespace mts::kernel {

struct KernelClock {
    std::atomic<int64_t> fwdNs{0}, bwdNs{0}, fwdCalls{0}, bwdCalls{0};

    /// Times: a struct with forwardSeconds, backwardSeconds, forwardCalls, backwardCalls.
    template <typename Times>
    Times read() const {
        Times t;
        t.forwardSeconds = static_cast<double>(fwdNs.load()) * 1e-9;
        t.backwardSeconds = static_cast<double>(bwdNs.load()) * 1e-9;
        t.forwardCalls = fwdCalls.load();
        t.backwardCalls = bwdCalls.load();
        return t;
    }
    void reset() {
        fwdNs = 0;
        bwdNs = 0;
        fwdCalls = 0;
        bwdCalls = 0;
    }
};

/// Adds the wall time of its scope and one call to a pair of counters.
struct TimeInto {
    using Clock = std::chrono::steady_clock;
    std::atomic<int64_t>& ns;
    std::atomic<int64_t>& calls;
    Clock::time_point t0 = Clock::now();
    ~TimeInto() {
        ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
        ++calls;
    }
};

}  // namespace mts::kernel
