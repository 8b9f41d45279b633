// `mamba-studio-cli bench scan --device cuda`: on a machine without a GPU it refuses with a clear
// error naming the option; with one it reports the fused CUDA kernel (or, in a build without it,
// the chunked scan it fell back to) and the chunked fallback, both with sane figures.
#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "command_run.h"

using mts::test::cliCommand;

namespace {

using mts::test::runCommand;


TEST(CliBenchScanDevice, CudaWithoutAGpuSaysSo) {
    if (torch::cuda::is_available()) GTEST_SKIP() << "a CUDA device is present: the no-GPU error cannot be seen";
    const auto r = runCommand(cliCommand("-q --threads 1") + " bench scan --device cuda --batch 1 --seq-len 4 --d-inner 8 --reps 1 2>&1");
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.out.find("--device cuda"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("no CUDA device"), std::string::npos) << r.out;
}

TEST(CliBenchScanDevice, CudaReportsTheKernelAndTheChunkedFallback) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to LibTorch";
    const auto r = runCommand(cliCommand("-q --threads 1") + " bench scan --device cuda --batch 2 --seq-len 64 --d-inner 64 --reps 2 --json 2>/dev/null");
    ASSERT_EQ(r.exitCode, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("device"), "cuda");
    for (const char* backend : {"fused", "chunked"})
        for (const char* key : {"fwd_ms", "bwd_ms"}) {
            const double v = j.at(backend).at(key).get<double>();
            EXPECT_TRUE(std::isfinite(v) && v > 0) << backend << " " << key << " = " << v;
        }
}

TEST(CliBenchScanDevice, RejectsAnUnknownDevice) {
    const auto r = runCommand(cliCommand("-q --threads 1") + " bench scan --device tpu 2>&1");
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.out.find("--device"), std::string::npos) << r.out;
}

}  // namespace
