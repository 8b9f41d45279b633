// `bench train --device/--scan/--dtype/--preset/--peak-tflops`: argument errors refused with a
// message naming the option, the memory fields (peak vs estimate), and a preset's shape, on the
// CPU at toy sizes (no timing asserted). The CUDA figures come from scripts/gpu-check.sh.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "command_run.h"
#include "mts/core/runtime/torch_compat.h"

using mts::test::cliCommand;

namespace {

using mts::test::runCommand;

const std::string kToy = " bench train --arch mamba --d-model 16 --n-layer 1 --seq-len 8 --batch 2 --steps 1 --warmup 0";

// Runs a command expected to fail; returns its output (stdout + stderr).
std::string failing(const std::string& args) {
    const auto r = runCommand(cliCommand("-q --threads 1") + args + " 2>&1");
    EXPECT_NE(r.exitCode, 0) << args << "\n" << r.out;
    return r.out;
}

TEST(CliBenchTrainDevice, RefusesBadArgumentsWithAClearMessage) {
    std::string out = failing(kToy + " --dtype fp16");
    EXPECT_NE(out.find("--dtype fp16 needs --device cuda"), std::string::npos) << out;
    out = failing(kToy + " --device tpu");
    EXPECT_NE(out.find("--device"), std::string::npos) << out;
    out = failing(kToy + " --scan fastest");
    EXPECT_NE(out.find("--scan"), std::string::npos) << out;
    out = failing(kToy + " --peak-tflops 100");
    EXPECT_NE(out.find("--peak-tflops is for --device cuda"), std::string::npos) << out;
    out = failing(kToy + " --peak-tflops -5 --device cuda");
    EXPECT_NE(out.find("--peak-tflops"), std::string::npos) << out;
    out = failing(" bench train --preset no-such-size --steps 1 --warmup 0");
    EXPECT_NE(out.find("no-such-size"), std::string::npos) << out;
}

TEST(CliBenchTrainDevice, CudaWithoutADeviceSaysSo) {
    if (mts::compat::cudaAvailable()) GTEST_SKIP() << "a CUDA device is present (gpu-check.sh measures it)";
    for (const char* scan : {"auto", "fused", "chunked"}) {
        const std::string out = failing(kToy + " --device cuda --scan " + scan);
        EXPECT_NE(out.find("--device cuda: no CUDA device is available"), std::string::npos) << out;
    }
}

TEST(CliBenchTrainDevice, ReportsPeakMemoryAgainstTheEstimateAndHonoursTheScanChoice) {
    for (const std::string scan : {"fused", "chunked"}) {
        const auto r = runCommand(cliCommand("-q --threads 1") + kToy + " --scan " + scan + " --json 2>/dev/null");
        ASSERT_EQ(r.exitCode, 0) << scan;
        const auto j = nlohmann::json::parse(r.out);
        EXPECT_EQ(j.at("device"), "cpu");
        EXPECT_EQ(j.at("scan_backend"), scan == "fused" ? "fused CPU" : "chunked");
        EXPECT_EQ(j.at("peak_memory_source"), "peak RSS");
        EXPECT_GT(j.at("peak_memory_bytes").get<int64_t>(), 0);
        const int64_t est = j.at("estimate_bytes").get<int64_t>(), tensors = j.at("estimate_tensor_bytes").get<int64_t>();
        EXPECT_GT(tensors, 0);
        EXPECT_GT(est, tensors);  // the estimate adds the runtime's own memory
        EXPECT_TRUE(j.at("loss_scale").is_null());
    }
}

TEST(CliBenchTrainDevice, APresetGivesTheShapeAndExplicitOptionsOverrideIt) {
    const auto r = runCommand(cliCommand("-q --threads 1") + " bench train --preset tiny --n-layer 1 --seq-len 8 --batch 1 --steps 1 "
                                      "--warmup 0 --json 2>/dev/null");
    ASSERT_EQ(r.exitCode, 0);
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("preset"), "tiny");
    EXPECT_EQ(j.at("shape").at("d_model"), 128);  // models.json: tiny mamba
    EXPECT_EQ(j.at("shape").at("n_layer"), 1);    // --n-layer wins over the preset's 4
}

}  // namespace
