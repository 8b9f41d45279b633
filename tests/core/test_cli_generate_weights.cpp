// `mamba-studio-cli generate --weights`: each precision of the fused decoder reproduces the
// fixture's greedy ids end to end, and an unknown precision is one clear error line.
#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "command_run.h"
#include "shared_data.h"

using mts::test::joinIds;

namespace {

TEST(CliGenerateWeights, EveryPrecisionRunsAndReportsIt) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    nlohmann::json expected = nlohmann::json::parse(std::ifstream(dir / "expected.json"));
    const auto prompt = expected.at("greedy_prompt").get<std::vector<int32_t>>();
    const auto full = expected.at("greedy_output").get<std::vector<int32_t>>();
    const std::vector<int32_t> wanted(full.begin() + static_cast<std::ptrdiff_t>(prompt.size()), full.end());
    const std::string base = mts::test::shellQuoted(mts::test::cliPath()) + " generate --model " +
                             mts::test::shellQuoted(dir.string()) + " --prompt-ids " + joinIds(prompt) +
                             " --print-ids --temperature 0 --max-new-tokens " + std::to_string(wanted.size());
    for (const std::string w : {"fp32", "bf16", "f16", "int8", "reference"}) {
        const auto r = mts::test::runCommand(base + " --weights " + w + " 2>&1");
        ASSERT_EQ(r.exitCode, 0) << r.out;
        EXPECT_NE(r.out.find("weights " + w), std::string::npos) << r.out;
        // The ids line: fp32 exactly the fixture; the others the same count (their choices are
        // checked against the reference in test_inference_model.cpp).
        std::string ids;  // the one stdout line among the log lines (which start with '[')
        std::istringstream lines(r.out);
        for (std::string l; std::getline(lines, l);)
            if (!l.empty() && l[0] != '[') ids = l;
        if (w == "fp32" || w == "reference") {
            EXPECT_EQ(ids, joinIds(wanted)) << w;
        }
        EXPECT_EQ(std::count(ids.begin(), ids.end(), ',') + 1, static_cast<long>(wanted.size())) << w;
    }
    const auto bad = mts::test::runCommand(base + " --weights int4 2>&1");
    EXPECT_NE(bad.exitCode, 0);
    EXPECT_NE(bad.out.find("--weights"), std::string::npos) << bad.out;
}

}  // namespace
