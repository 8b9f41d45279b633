#include "mts/core/train/small_data.h"

namespace mts {

bool isSmallCorpus(int64_t trainTokens) { return trainTokens >= 0 && trainTokens < kSmallDataTokens; }

std::string trainingPresetForCorpus(int64_t trainTokens, const std::string& fallback) {
    return isSmallCorpus(trainTokens) ? "small-data" : fallback;
}

std::string modelPresetForCorpus(int64_t trainTokens, const std::string& fallback) {
    return isSmallCorpus(trainTokens) ? "compact" : fallback;
}

double plannedEpochs(int64_t plannedTokens, int64_t trainTokens) {
    if (trainTokens <= 0 || plannedTokens <= 0) return 0.0;
    return static_cast<double>(plannedTokens) / static_cast<double>(trainTokens);
}

}  // namespace mts
