#include "mts/core/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace mts {

double LrSchedule::factorAtProgress(int64_t step, double progress) const {
    if (step < warmupSteps) return static_cast<double>(step + 1) / static_cast<double>(warmupSteps);
    double p = std::clamp(progress, 0.0, 1.0);
    return minRatio + (1.0 - minRatio) * 0.5 * (1.0 + std::cos(M_PI * p));
}

double LrSchedule::factor(int64_t step) const {
    if (totalSteps <= warmupSteps) return factorAtProgress(step, 0.0);
    double p = static_cast<double>(step - warmupSteps) / static_cast<double>(totalSteps - warmupSteps);
    return factorAtProgress(step, p);
}

}  // namespace mts
