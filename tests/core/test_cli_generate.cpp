// `mamba-studio-cli generate` end to end: exact greedy ids on the fixture, and one clear error
// line with a non-zero exit for bad input.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "command_run.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::joinIds;
using mts::test::lines;
using mts::test::cliCommand;
using mts::test::shellQuoted;

namespace {

using mts::test::CommandRun;
using mts::test::runCommand;

TEST(CliGenerate, GreedyPrintIdsReproducesTheFixture) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    nlohmann::json expected = nlohmann::json::parse(std::ifstream(dir / "expected.json"));
    const auto prompt = expected.at("greedy_prompt").get<std::vector<int32_t>>();
    const auto full = expected.at("greedy_output").get<std::vector<int32_t>>();
    const std::vector<int32_t> wanted(full.begin() + static_cast<std::ptrdiff_t>(prompt.size()), full.end());

    const CommandRun r = runCommand(cliCommand() + " generate --model " + shellQuoted(dir.string()) + " --prompt-ids " +
                             joinIds(prompt) + " --print-ids --max-new-tokens " + std::to_string(wanted.size()) +
                             " --temperature 0 --weights fp32 2>/dev/null");  // fp32: the fixture's reference
    ASSERT_EQ(r.exitCode, 0);
    EXPECT_EQ(r.out, joinIds(wanted) + "\n");  // only the new ids, one line
}

TEST(CliGenerate, StreamsTextToStdout) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    const CommandRun r = runCommand(cliCommand() + " generate --model " + shellQuoted(dir.string()) +
                             " --prompt hello --max-new-tokens 5 --seed 3 --top-k 20 2>/dev/null");
    ASSERT_EQ(r.exitCode, 0);
    EXPECT_EQ(r.out.rfind("hello", 0), 0u);  // prompt echoed, continuation after it
    EXPECT_GT(r.out.size(), std::string("hello\n").size());
}

TEST(CliGenerate, MissingModelGivesOneErrorLineAndNonZeroExit) {
    mts::test::TempDir tmp;
    const std::string missing = (tmp.path() / "no-such-model").string();
    // -q: no start-up log, so stderr is the error alone.
    CommandRun r = runCommand(cliCommand() + " -q generate --model " + shellQuoted(missing) + " --prompt hi 2>&1 >/dev/null");
    EXPECT_NE(r.exitCode, 0);
    auto l = lines(r.out);
    ASSERT_EQ(l.size(), 1u) << r.out;
    EXPECT_EQ(l[0].rfind("error: ", 0), 0u) << l[0];
    EXPECT_NE(l[0].find("no-such-model"), std::string::npos) << l[0];

    // Without -q the start-up log may precede it, but there is still exactly one error line.
    r = runCommand(cliCommand() + " generate --model " + shellQuoted(missing) + " --prompt hi 2>&1 >/dev/null");
    EXPECT_NE(r.exitCode, 0);
    int errors = 0;
    for (const auto& line : lines(r.out)) errors += line.rfind("error: ", 0) == 0;
    EXPECT_EQ(errors, 1) << r.out;
}

TEST(CliGenerate, MalformedModelGivesOneErrorLineAndNonZeroExit) {
    mts::test::TempDir tmp;
    {
        std::ofstream(tmp.path() / "config.json") << "{ \"model_type\": \"mamba\", \"hidden_size\": ";
    }
    CommandRun r = runCommand(cliCommand() + " -q generate --model " + shellQuoted(tmp.path().string()) +
                       " --prompt hi 2>&1 >/dev/null");
    EXPECT_NE(r.exitCode, 0);
    auto l = lines(r.out);
    ASSERT_EQ(l.size(), 1u) << r.out;
    EXPECT_EQ(l[0].rfind("error: ", 0), 0u) << l[0];
    EXPECT_NE(l[0].find("config.json"), std::string::npos) << l[0];

    // A valid config whose weights file is truncated.
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    mts::test::TempDir broken;
    std::filesystem::copy_file(dir / "config.json", broken.path() / "config.json");
    {
        std::ifstream in(dir / "model.safetensors", std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(broken.path() / "model.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    r = runCommand(cliCommand() + " -q generate --model " + shellQuoted(broken.path().string()) +
                   " --prompt-ids 1,2 --print-ids 2>&1 >/dev/null");
    EXPECT_NE(r.exitCode, 0);
    l = lines(r.out);
    ASSERT_EQ(l.size(), 1u) << r.out;
    EXPECT_NE(l[0].find("model.safetensors"), std::string::npos) << l[0];
}

TEST(CliGenerate, BadArgumentsFail) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    const std::string base = cliCommand() + " -q generate --model " + shellQuoted(dir.string());
    CommandRun r = runCommand(base + " --prompt-ids 1,x,3 --print-ids 2>&1 >/dev/null");
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.out.find("--prompt-ids"), std::string::npos) << r.out;
    r = runCommand(base + " --prompt-ids 1,2 --top-p 0 2>&1 >/dev/null");
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.out.find("top_p"), std::string::npos) << r.out;
    r = runCommand(base + " 2>&1 >/dev/null");  // neither --prompt nor --prompt-ids
    EXPECT_NE(r.exitCode, 0);
}

}  // namespace
