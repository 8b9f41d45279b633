// `mamba-studio-cli bench` end to end at toy shapes: the JSON reports carry the fields the
// README and scripts read, with sane values (no timing is asserted), and a bad option is
// refused with a non-zero exit.
#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "command_run.h"

using mts::test::cliCommand;

namespace {

using mts::test::runCommand;


nlohmann::json runJson(const std::string& args) {
    const auto r = runCommand(cliCommand("-q --threads 1") + " " + args + " --json 2>/dev/null");
    EXPECT_EQ(r.exitCode, 0) << args;
    return nlohmann::json::parse(r.out);
}

TEST(CliBench, ScanReportsBothBackendsWithBf16Activations) {
    const auto j = runJson("bench scan --batch 1 --seq-len 9 --d-inner 20 --d-state 4 --reps 1 --io bf16");
    EXPECT_EQ(j.at("io"), "bf16");
    for (const char* backend : {"fused", "reference"}) {
        for (const char* key : {"fwd_ms", "bwd_ms", "fwd_ns_per_elem", "bwd_ns_per_elem"}) {
            const double v = j.at(backend).at(key).get<double>();
            EXPECT_TRUE(std::isfinite(v) && v > 0) << backend << " " << key << " = " << v;
        }
    }
    EXPECT_GT(j.at("speedup_fwd_bwd").get<double>(), 0.0);
}

TEST(CliBench, TrainReportsThroughputMfuAndTheScanShare) {
    for (const std::string dtype : {"fp32", "bf16"}) {
        const auto j = runJson("bench train --arch mamba --d-model 16 --n-layer 1 --seq-len 8 --batch 2 --steps 2 "
                               "--warmup 1 --dtype " + dtype);
        EXPECT_EQ(j.at("dtype"), dtype);
        EXPECT_EQ(j.at("scan_backend"), "fused CPU");
        for (const char* key : {"tokens_per_s", "tokens_per_s_best_step", "mfu", "matmul_gflops", "peak_rss_mb"})
            EXPECT_GT(j.at(key).get<double>(), 0.0) << dtype << " " << key;
        const double share = j.at("scan_fraction").get<double>();
        EXPECT_TRUE(share > 0 && share < 1) << dtype << " scan share " << share;
        // Random init on byte tokens: the loss starts near ln(256) = 5.55.
        EXPECT_NEAR(j.at("final_loss").get<double>(), std::log(256.0), 1.0) << dtype;
    }
}

TEST(CliBench, RejectsAnUnknownActivationType) {
    const auto r = runCommand(cliCommand("-q --threads 1") + " bench scan --io fp16 2>&1");
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.out.find("--io"), std::string::npos) << r.out;
}

}  // namespace
