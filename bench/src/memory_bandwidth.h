#pragma once
// Memory read bandwidth of this machine, measured the way a decoder reads its weights: a
// streaming read, by `threads` threads, of a buffer much larger than the caches. The decoding
// benchmarks divide the bytes they read per token x tokens/s by it (the fraction of the bound).
#include <cstdint>

namespace mts::bench {

struct BandwidthResult {
    double bestGBs = 0;     // best pass, GB/s (1e9 bytes per second)
    int64_t bytes = 0;      // buffer size read per pass
    int passes = 0;
};

/// Reads a `mib`-MiB buffer `passes` times with `threads` std::threads (each a contiguous
/// slice) and returns the best pass. Allocates and touches the buffer first (not timed).
/// Throws std::invalid_argument for mib < 1, passes < 1 or threads < 1; std::bad_alloc when
/// the buffer does not fit.
BandwidthResult measureReadBandwidth(int64_t mib, int passes, int threads);

}  // namespace mts::bench
