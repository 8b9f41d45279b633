#include "mts/core/runtime/runtime.h"

#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <cstdlib>
#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <unistd.h>
#include <link.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "mts/core/runtime/torch_compat.h"

namespace mts {
namespace {

std::mutex g_mutex;
RuntimeInfo g_info;
bool g_initialised = false;

// Which BLAS LibTorch resolved: look at the shared objects loaded into the process.
// Debian's libblas.so.3 is an alternatives link, so the file name alone says little;
// OpenBLAS exports openblas_get_config, the reference BLAS does not.
std::string probeBlas(bool& slow) {
    using ConfigFn = char* (*)();
    if (auto fn = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
        slow = false;
        std::string cfg = fn();
        return "OpenBLAS (" + cfg + ")";
    }
    if (dlsym(RTLD_DEFAULT, "mkl_get_version")) {
        slow = false;
        return "MKL";
    }
    std::string found;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
            std::string name = info->dlpi_name ? info->dlpi_name : "";
            if (name.find("blas") != std::string::npos && static_cast<std::string*>(data)->empty())
                *static_cast<std::string*>(data) = name;
            return 0;
        },
        &found);
    slow = true;
    return found.empty() ? "reference BLAS" : "reference BLAS (" + found + ")";
}

bool cpuHasBf16() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("flags", 0) == 0)
            return line.find("avx512_bf16") != std::string::npos || line.find("amx_bf16") != std::string::npos;
    }
    return false;
}

int64_t procStatusKb(const char* key) {
    std::ifstream status("/proc/self/status");
    std::string line;
    const std::string k = key;
    while (std::getline(status, line)) {
        if (line.rfind(k, 0) == 0) {
            std::istringstream ss(line.substr(k.size() + 1));
            int64_t kb = 0;
            ss >> kb;
            return kb;
        }
    }
    return 0;
}

// LibTorch's CPU allocator is plain malloc. glibc serves blocks above its mmap threshold
// (adaptive, from 128 KiB) with a fresh mmap and returns them on free, and trims the heap top
// above 128 KiB free: every training step then page-faults its activations in again (~10% of
// the step's time went to page faults in the kernel at the reference shape). A fixed 32 MiB
// threshold (glibc's maximum) and no automatic trim keep freed blocks for the next step;
// releaseFreedMemory() hands them back when a run ends.
std::string configureAllocator() {
#if defined(__GLIBC__)
    const bool ok = ::mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && ::mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
    return ok ? "glibc malloc (32 MiB mmap threshold, trimmed at run end)" : "glibc malloc (defaults)";
#else
    return "system malloc";
#endif
}

}  // namespace

void releaseFreedMemory() {
#if defined(__GLIBC__)
    ::malloc_trim(0);
#endif
}

void ensureThreadingEnvironment(char** argv) {
    if (std::getenv("GOMP_SPINCOUNT") || std::getenv("OMP_WAIT_POLICY")) return;
    // A short spin keeps OpenMP regions cheap in our kernels without starving OpenBLAS.
    ::setenv("GOMP_SPINCOUNT", "3000", 0);
    ::execv("/proc/self/exe", argv);
    // exec failed (no /proc): carry on with the slower default.
}

int defaultIntraOpThreads() {
    if (const char* env = std::getenv("OMP_NUM_THREADS")) {
        char* end = nullptr;
        const long n = std::strtol(env, &end, 10);  // "4" or a list's first level, "4,2"
        if (end != env && n > 0 && n <= 4096) return static_cast<int>(n);
    }
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

const RuntimeInfo& initRuntime(const RuntimeOptions& options) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const int threads = options.threads > 0 ? options.threads : defaultIntraOpThreads();
    if (g_initialised && g_info.intraOpThreads == threads) return g_info;
    // OpenMP defaults to one thread on these machines: set it explicitly.
    torch::set_num_threads(threads);
    RuntimeInfo info;
    info.torchVersion = TORCH_VERSION;
    info.intraOpThreads = torch::get_num_threads();
    info.blas = probeBlas(info.slowBlas);
    info.cpuBf16 = cpuHasBf16();
    info.cuda = compat::cudaAvailable();
    info.device = "CPU";
    if (info.cuda) {
        const std::string desc = compat::cudaDeviceDescription(0, info.deviceMemoryBytes);
        info.device = desc.empty() ? "CUDA" : "CUDA: " + desc;
    }
    info.allocator = configureAllocator();
    // The kernels room sits above this one: the composition root hands its describer in.
    if (options.describeScanBackend) info.scanBackend = options.describeScanBackend(info.cuda);
    g_info = info;
    g_initialised = true;
    if (options.log) {
        spdlog::info("LibTorch {} | BLAS: {} | intra-op threads: {} | device: {}{} | scan: {} | memory: {}",
                     info.torchVersion, info.blas, info.intraOpThreads, info.device,
                     info.cpuBf16 ? " | CPU bf16: yes" : "", info.scanBackend, info.allocator);
        if (!std::getenv("GOMP_SPINCOUNT") && !std::getenv("OMP_WAIT_POLICY"))
            spdlog::warn("GOMP_SPINCOUNT is not set: OpenMP spin-waiting may slow fp32 matmuls "
                         "(set GOMP_SPINCOUNT=3000)");
        if (info.slowBlas)
            spdlog::warn("LibTorch is using the slow reference BLAS (~7 GFLOP/s). Install OpenBLAS: "
                         "sudo apt-get install libopenblas0-openmp (or run scripts/setup.sh)");
        else if (info.blas.find("OpenBLAS") != std::string::npos && info.blas.find("USE_OPENMP") == std::string::npos)
            spdlog::warn("OpenBLAS is its pthread build: its thread pool competes with LibTorch's OpenMP "
                         "pool (training ~15% slower). Select the OpenMP build: scripts/setup.sh does it, "
                         "or sudo update-alternatives --set libblas.so.3-x86_64-linux-gnu "
                         "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 (and liblapack.so.3)");
    }
    return g_info;
}

const RuntimeInfo& runtimeInfo() {
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        if (g_initialised) return g_info;
    }
    RuntimeOptions o;
    o.log = false;
    return initRuntime(o);
}

double measureMatmulGflops(bool bf16, int n, int reps) {
    torch::NoGradGuard ng;
    auto dtype = bf16 ? torch::kBFloat16 : torch::kFloat32;
    auto a = torch::randn({n, n}).to(dtype);
    auto b = torch::randn({n, n}).to(dtype);
    torch::mm(a, b);  // warm-up (oneDNN / BLAS initialisation)
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) torch::mm(a, b);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return 2.0 * n * double(n) * n * reps / s / 1e9;
}

int64_t currentRssBytes() { return procStatusKb("VmRSS:") * 1024; }
int64_t peakRssBytes() { return procStatusKb("VmHWM:") * 1024; }

}  // namespace mts
