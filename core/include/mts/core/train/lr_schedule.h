#pragma once
// Learning-rate schedule: linear warmup, then cosine decay to a floor.
//
//   factor(s) = (s + 1) / warmup                                   for s < warmup
//             = min + (1 - min) * 0.5 * (1 + cos(pi * p))           after, p in [0, 1]
//   p = (s - warmup) / (total - warmup)   (or the elapsed-time fraction for time-limited runs)
//
// s is the 0-based index of the optimizer step about to be taken; the LR used is
// peak * factor(s). Pure functions, thread-safe.
#include <cstdint>

namespace mts {

struct LrSchedule {
    int64_t warmupSteps = 0;
    int64_t totalSteps = 0;     // 0 = unknown (time-limited run): use factorAtProgress
    double minRatio = 0.1;

    /// Multiplier of the peak LR at step s (by step count).
    double factor(int64_t step) const;
    /// Multiplier when the decay progress is known directly (p in [0, 1], clamped); warmup
    /// still counts steps.
    double factorAtProgress(int64_t step, double progress) const;
};

}  // namespace mts
