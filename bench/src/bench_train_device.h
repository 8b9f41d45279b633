#pragma once
// bench train's device side (bench_train_device.cpp): which device and scan backend run the
// step, the peak FLOP/s MFU is measured against, timing fences and peak memory. Throws
// ConfigError with a message for people for every choice this build or machine cannot honour.
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "mts/core/kernels/selective_scan.h"
#include "mts/core/model/model_config.h"

namespace mts::bench {

struct TrainDevice {
    torch::Device device = torch::kCPU;
    std::string description;  // "cpu" or the GPU's name and memory
    double peakTflops = 0;    // CUDA: the dense bf16 peak (table or --peak-tflops); CPU: 0 (measured)
    std::string peakSource;   // "table", "--peak-tflops", ""
};

/// --device cpu|cuda and --peak-tflops (0 = from the table of known GPUs). CUDA without a
/// device, or an unknown GPU without --peak-tflops, throws ConfigError.
TrainDevice chooseTrainDevice(const std::string& device, double peakTflops);

/// --scan auto|fused|chunked|reference for `arch` on `device` -> the backend (Auto = the
/// device's default). `fused` is our fused kernel: FusedCpu on the CPU, the CUDA kernel on a
/// GPU; a build without that kernel throws ConfigError saying so (probed with a tiny scan).
ScanBackend chooseScanBackend(const std::string& scan, const torch::Device& device);

/// --dtype fp32|bf16|fp16 on `device`: fp16 (autocast + loss scaling) is CUDA-only.
void checkTrainDtype(const std::string& dtype, const torch::Device& device);

/// Waits for the device's queued work (CUDA); a no-op on the CPU. For timing.
void syncDevice(const torch::Device& device);

/// Starts the peak-memory window (CUDA: resets the allocator's peak counters).
void resetPeakMemory(const torch::Device& device);

struct PeakMemory {
    int64_t bytes = -1;          // CUDA: allocator peak of tensors; CPU: process peak RSS; -1 unknown
    int64_t reservedBytes = -1;  // CUDA: allocator peak reserved; -1 elsewhere
    std::string source;          // "cuda caching allocator" | "peak RSS" | "unknown (...)"
};
PeakMemory peakMemory(const torch::Device& device);

}  // namespace mts::bench
