#pragma once
// The small-data recipe: which training preset a corpus gets by default.
//
// "Small" is decided by the corpus's training tokens alone: fewer than kSmallDataTokens
// (5 million) is small. At the CPU budgets this studio targets (minutes to an hour, some
// 2-20k tokens/s) a run sees several epochs of such a corpus, and a model sized for the budget
// over-fits it (Tiny Shakespeare, 1.0M byte tokens: a tiny Mamba's training loss falls to 1.17
// while its validation loss stalls at 1.57 nats/byte). Small corpora get the "small-data"
// training preset (resources/presets/training.json: dropout, weight decay, a shorter cosine
// schedule with early stopping); larger ones keep "default". The recipe was tuned at the
// "compact" model size, which the studio picks with it (modelPresetForCorpus).
//
// Threading: plain functions, any thread; no I/O.
#include <cstdint>
#include <string>

namespace mts {

constexpr int64_t kSmallDataTokens = 5'000'000;

/// True when a corpus of `trainTokens` training tokens is small (see above); false for < 0 (unknown).
bool isSmallCorpus(int64_t trainTokens);

/// "small-data" for a small corpus, else `fallback` (the caller's usual preset, "default").
std::string trainingPresetForCorpus(int64_t trainTokens, const std::string& fallback = "default");

/// "compact" (the model size preset the small-data recipe was tuned at: ~1.8M parameters,
/// Mamba 256 x 4) for a small corpus, else `fallback`.
std::string modelPresetForCorpus(int64_t trainTokens, const std::string& fallback);

/// How many times a run of `plannedTokens` would read a corpus of `trainTokens` (0 when unknown).
double plannedEpochs(int64_t plannedTokens, int64_t trainTokens);

}  // namespace mts
