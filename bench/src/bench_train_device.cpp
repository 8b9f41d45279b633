#include "bench_train_device.h"

#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/runtime.h"
#include "mts/core/runtime/torch_compat.h"
#include "mts/core/runtime/torch_compat_cuda.h"

namespace mts::bench {

namespace {
int cudaIndex(const torch::Device& d) { return d.has_index() ? d.index() : 0; }
}  // namespace

TrainDevice chooseTrainDevice(const std::string& device, double peakTflops) {
    TrainDevice t;
    if (device == "cpu") {
        if (peakTflops > 0) throw ConfigError("--peak-tflops is for --device cuda (the CPU's peak is measured)");
        t.description = "cpu";
        return t;
    }
    if (device != "cuda") throw ConfigError("--device must be cpu or cuda, got '" + device + "'");
    if (!compat::cudaAvailable())
        throw ConfigError("--device cuda: no CUDA device is available (this LibTorch " +
                          std::string(torch::cuda::is_available() ? "has CUDA" : "is CPU-only or sees no GPU") +
                          "; build against a CUDA LibTorch with scripts/studio.sh --cuda)");
    t.device = torch::Device(torch::kCUDA, 0);
    int64_t total = 0;
    t.description = compat::cudaDeviceDescription(0, total);
    if (peakTflops > 0) {
        t.peakTflops = peakTflops;
        t.peakSource = "--peak-tflops";
    } else if (auto known = compat::knownBf16PeakTflops(t.description)) {
        t.peakTflops = *known;
        t.peakSource = "table";
    } else {
        throw ConfigError("--device cuda: the bf16 peak of '" + t.description +
                          "' is not in the table (H100, H200, A100): give it with --peak-tflops N (dense "
                          "bf16 TFLOP/s from the GPU's data sheet)");
    }
    return t;
}

ScanBackend chooseScanBackend(const std::string& scan, const torch::Device& device) {
    if (scan == "auto") return ScanBackend::Auto;
    if (scan == "chunked") return ScanBackend::Chunked;
    if (scan == "reference") return ScanBackend::Reference;
    if (scan != "fused") throw ConfigError("--scan must be auto, fused, chunked or reference, got '" + scan + "'");
    if (device.is_cpu()) return ScanBackend::FusedCpu;
    // Probe: a 1-token scan through the CUDA kernel; a build without it refuses the backend.
    try {
        const auto o = torch::TensorOptions(torch::kFloat32).device(device);
        ScanInputs in;
        in.u = torch::zeros({1, 1, 2}, o);
        in.delta = torch::zeros({1, 1, 2}, o);
        in.A = -torch::ones({2, 4}, o);
        in.Bm = torch::zeros({1, 1, 4}, o);
        in.Cm = torch::zeros({1, 1, 4}, o);
        selectiveScan(in, false, ScanBackend::Cuda);
    } catch (const std::exception& e) {
        throw ConfigError(std::string("--scan fused: this build has no fused CUDA scan kernel (") + e.what() +
                          "); build with the CUDA kernels (scripts/studio.sh --cuda with nvcc) or use --scan "
                          "chunked");
    }
    return ScanBackend::Cuda;
}

void checkTrainDtype(const std::string& dtype, const torch::Device& device) {
    if (dtype != "fp32" && dtype != "bf16" && dtype != "fp16")
        throw ConfigError("--dtype must be fp32, bf16 or fp16, got '" + dtype + "'");
    if (dtype == "fp16" && !device.is_cuda())
        throw ConfigError("--dtype fp16 needs --device cuda (fp16 autocast with loss scaling is CUDA-only; use bf16 "
                          "on the CPU)");
}

void syncDevice(const torch::Device& device) {
    if (device.is_cuda()) torch::cuda::synchronize(cudaIndex(device));
}

void resetPeakMemory(const torch::Device& device) {
    if (device.is_cuda()) compat::resetCudaPeakMemory(cudaIndex(device));
}

PeakMemory peakMemory(const torch::Device& device) {
    PeakMemory p;
    if (!device.is_cuda()) {
        p.bytes = peakRssBytes();
        p.source = "peak RSS";
        return p;
    }
    if (auto c = compat::cudaPeakMemory(cudaIndex(device))) {
        p.bytes = c->allocatedBytes;
        p.reservedBytes = c->reservedBytes;
        p.source = "cuda caching allocator";
    } else {
        p.source = "unknown (built with MTS_CUDA_ALLOCATOR_STATS=OFF)";
    }
    return p;
}

}  // namespace mts::bench
