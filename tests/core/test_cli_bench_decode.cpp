// `bench generate` per decoding precision and `bench precision` (loss per precision) through
// the CLI, on tiny shapes so they take a second.
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "command_run.h"
#include "shared_data.h"

using mts::test::cliCommand;

namespace {

TEST(CliBenchDecode, GenerateReportsEveryPrecisionWithItsWeightBytes) {
    const auto r = mts::test::runCommand(cliCommand() + " -q bench generate --arch mamba --d-model 64 --n-layer 2 --vocab 300 "
                                                 "--contexts 10 --tokens 2 --bandwidth-mib 64 --json 2>/dev/null");
    ASSERT_EQ(r.exitCode, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    const double gbs = j.at("memory_read_bandwidth").at("gb_per_second").get<double>();
    EXPECT_GT(gbs, 0.0);
    EXPECT_EQ(j.at("memory_read_bandwidth").at("buffer_bytes").get<int64_t>(), int64_t{64} << 20);
    std::map<std::string, int64_t> bytes;
    for (const auto& row : j.at("results")) {
        const double tps = row.at("tokens_per_second").get<double>();
        EXPECT_GT(tps, 0.0);
        const auto b = row.at("weight_bytes_per_token").get<int64_t>();
        bytes[row.at("weights").get<std::string>()] = b;
        // The fraction of the bandwidth bound is the weights' read rate over the measured bandwidth.
        EXPECT_NEAR(row.at("fraction_of_bandwidth_bound").get<double>(), b * tps / 1e9 / gbs, 1e-9);
    }
    ASSERT_EQ(bytes.size(), 5u);
    EXPECT_EQ(bytes["reference"], 0);
    EXPECT_GT(bytes["fp32"], bytes["bf16"]);
    EXPECT_EQ(bytes["bf16"], bytes["f16"]);
    EXPECT_GT(bytes["bf16"], bytes["int8"]);
    const auto bad = mts::test::runCommand(cliCommand() + " -q bench generate --weights int4 2>&1");
    EXPECT_NE(bad.exitCode, 0);
    // --bandwidth-mib 0 skips the probe: no bandwidth object, fractions 0.
    const auto skip = mts::test::runCommand(cliCommand() + " -q bench generate --arch mamba --d-model 64 --n-layer 2 --vocab 300 "
                                                    "--contexts 10 --tokens 2 --weights fp32 --bandwidth-mib 0 --json 2>/dev/null");
    ASSERT_EQ(skip.exitCode, 0) << skip.out;
    const auto js = nlohmann::json::parse(skip.out);
    EXPECT_FALSE(js.contains("memory_read_bandwidth"));
    EXPECT_EQ(js.at("results").at(0).at("fraction_of_bandwidth_bound").get<double>(), 0.0);
}

// Mamba-2 decodes on the fused path too: a row per precision with its weight bytes, none skipped.
TEST(CliBenchDecode, GenerateRunsMamba2OnTheFusedDecoder) {
    const auto r = mts::test::runCommand(cliCommand() + " -q bench generate --arch mamba2 --d-model 64 --n-layer 2 --vocab 300 "
                                                 "--contexts 10 --tokens 2 --weights reference,fp32,int8 --bandwidth-mib 0 "
                                                 "--json 2>/dev/null");
    ASSERT_EQ(r.exitCode, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    std::map<std::string, int64_t> bytes;
    for (const auto& row : j.at("results")) {
        EXPECT_EQ(row.at("arch").get<std::string>(), "mamba2");
        EXPECT_GT(row.at("tokens_per_second").get<double>(), 0.0);
        bytes[row.at("weights").get<std::string>()] = row.at("weight_bytes_per_token").get<int64_t>();
    }
    ASSERT_EQ(bytes.size(), 3u);
    EXPECT_EQ(bytes["reference"], 0);
    EXPECT_GT(bytes["fp32"], bytes["int8"]);
    EXPECT_GT(bytes["int8"], 0);
}

TEST(CliBenchDecode, PrecisionReportsTheLossOfEachPrecision) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    mts::test::TempDir tmp;
    {
        std::ofstream out(tmp / "text.txt");
        for (int i = 0; i < 20; ++i) out << "The quick brown fox jumps over the lazy dog. ";
    }
    const auto r = mts::test::runCommand(cliCommand() + " -q bench precision --model " + mts::test::shellQuoted(dir.string()) +
                                         " --text " + mts::test::shellQuoted((tmp / "text.txt").string()) +
                                         " --tokens 200 --json 2>/dev/null");
    ASSERT_EQ(r.exitCode, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out);
    std::map<std::string, double> delta;
    for (const auto& row : j.at("results")) delta[row.at("weights").get<std::string>()] = row.at("loss_delta").get<double>();
    ASSERT_EQ(delta.size(), 5u);
    EXPECT_NEAR(delta["fp32"], 0.0, 1e-5);  // the same maths as the reference up to fp32 rounding
    EXPECT_LT(std::abs(delta["bf16"]), 0.05);
    EXPECT_LT(std::abs(delta["int8"]), 0.05);
    const auto missing = mts::test::runCommand(cliCommand() + " -q bench precision --model " +
                                               mts::test::shellQuoted(dir.string()) + " --text /nonexistent.txt 2>&1");
    EXPECT_NE(missing.exitCode, 0);
    EXPECT_NE(missing.out.find("/nonexistent.txt"), std::string::npos) << missing.out;
}

}  // namespace
