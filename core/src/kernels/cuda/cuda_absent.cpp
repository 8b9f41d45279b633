// The CUDA entry points of a build without CUDA (LibTorch without CUDA): the Cuda backend says
// so clearly. Replaced by kernels_cuda.cpp when cmake/MtsCuda.cmake enables the CUDA kernels.
#include <stdexcept>

#include "kernels/cuda/kernels_cuda.h"

namespace mts::scan_cuda {
namespace {
[[noreturn]] void absent(const char* what) {
    throw std::invalid_argument(std::string(what) +
                                ": this build has no CUDA kernels (built without CUDA: the LibTorch it was built "
                                "against has no CUDA; build with scripts/studio.sh --cuda)");
}
}  // namespace

bool kernelsCompiled() { return false; }
int64_t maxState() { return 0; }
ScanOutputs selectiveScan(const ScanInputs&, bool) { absent("selective scan (CUDA kernel)"); }
torch::Tensor causalConv1dSilu(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, bool,
                               const torch::Tensor&) {
    absent("causal conv (CUDA kernel)");
}

}  // namespace mts::scan_cuda
