#pragma once
// What runs Mamba's scan on this machine, as text for the start-up line and the status bar.
// Kept free of LibTorch headers so the composition roots (and Qt code) can include it.
#include <string>

namespace mts {

/// "fused CPU (avx512)", "chunked (tensor ops)", ... for the CPU (cuda = false) or the first
/// CUDA device: what RuntimeOptions::describeScanBackend expects. Thread-safe.
std::string describeDefaultScanBackend(bool cuda);

}  // namespace mts
