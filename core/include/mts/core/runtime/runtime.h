#pragma once
// Process-wide engine set-up: threads, logging, device. Call initRuntime() once at start-up
// (both executables do) before any tensor work. Thread-safe after that.
#include <cstdint>
#include <string>

namespace mts {

struct RuntimeInfo {
    std::string torchVersion;    // e.g. "1.13.1"
    std::string blas;            // "OpenBLAS (pthread)", "reference BLAS", "MKL", ...
    bool slowBlas = false;       // true for the reference BLAS (~7 GFLOP/s): warn with the fix
    int intraOpThreads = 1;      // what at::get_num_threads() reports after set-up
    std::string device;          // "CPU" or "CUDA: <name>, <GiB> GiB"
    int64_t deviceMemoryBytes = 0;  // CUDA total memory, 0 on CPU
    bool cuda = false;
    bool cpuBf16 = false;        // the CPU has avx512_bf16 / amx (fast bf16 matmul)
    std::string scanBackend;     // what runs Mamba's scan on `device`: "fused CPU (avx512)", ...
    std::string allocator;       // how host memory is served (glibc malloc kept from step to step)
};

struct RuntimeOptions {
    int threads = 0;             // 0 = defaultIntraOpThreads()
    bool log = true;             // log the RuntimeInfo lines through spdlog
    // Names what runs Mamba's scan (kernels/selective_scan.h: describeScanBackend), for the
    // start-up line; runtime sits below the kernels, so the executables pass it in. May be null.
    std::string (*describeScanBackend)(bool cuda) = nullptr;
};

/// Call first thing in main(), before any other code runs. GNU OpenMP threads spin for
/// ~300k iterations after each parallel region by default; with the pthread OpenBLAS that
/// LibTorch uses for fp32 matmuls, those spinning threads steal the cores OpenBLAS's own
/// threads need (measured: Mamba training 3.6k -> 8.2k tokens/s at the reference shape).
/// With OpenBLAS's OpenMP build (what scripts/setup.sh selects: one pool for both, a further
/// ~15%) the short spin neither helps nor hurts measurably; it stays for the pthread build.
/// libgomp reads its settings when it is loaded, so when neither GOMP_SPINCOUNT nor
/// OMP_WAIT_POLICY is set this sets GOMP_SPINCOUNT and re-executes the program once
/// (/proc/self/exe with the same argv). Returns normally when nothing needs doing or exec fails.
void ensureThreadingEnvironment(char** argv);

/// Intra-op threads when none are asked for: OMP_NUM_THREADS when it is set to a positive number
/// (the usual knob of OpenMP programs; the first level of a list), else every core.
int defaultIntraOpThreads();

/// Sets intra-op threads, keeps freed host memory in the process between training steps
/// (glibc: fixed mmap threshold, no automatic trim), probes BLAS and device, logs one summary
/// (and a warning with the fix when the BLAS is the reference one, or OpenBLAS's pthread build).
/// Idempotent: later calls return the first result unless the thread count changes.
const RuntimeInfo& initRuntime(const RuntimeOptions& options = {});

/// Returns freed host memory that the allocator keeps for reuse (see initRuntime: freed
/// blocks are not handed back during a run) to the system. The trainer calls it at a run's end.
void releaseFreedMemory();

/// The last result of initRuntime() (initialising with defaults if never called).
const RuntimeInfo& runtimeInfo();

/// Measured dense fp32 / bf16 matmul rate on this device, GFLOP/s (n x n x n, a few reps).
double measureMatmulGflops(bool bf16, int n = 1024, int reps = 5);

/// Resident-set size of this process now and at its peak, bytes (from /proc/self/status).
int64_t currentRssBytes();
int64_t peakRssBytes();

}  // namespace mts
