// `mamba-studio-cli generate --interactive`: one turn per stdin line, continued from the carried
// state (issue 14, item 8), checked against a one-shot generation of the whole transcript.
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "command_run.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::lines;

namespace {

using mts::test::shellQuoted;

std::string bytesAsIds(const std::string& s) {
    std::string out;
    for (unsigned char c : s) out += (out.empty() ? "" : ",") + std::to_string(c);
    return out;
}

std::string generateCmd(const std::string& model) {
    return shellQuoted(mts::test::cliPath()) + " generate --model " + shellQuoted(model) +
          " --temperature 0 --max-new-tokens 6 --ignore-eos --weights fp32";  // fp32: turn-by-turn stepping and one-shot prefill agree
}

TEST(CliInteractive, EachLineContinuesTheTranscript) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    const std::string gen = generateCmd(dir.string());
    const auto chat = mts::test::runCommand("printf 'hello\\n and\\n' | " + gen + " --interactive --print-ids 2>/dev/null");
    ASSERT_EQ(chat.exitCode, 0);
    const auto turns = lines(chat.out);
    ASSERT_EQ(turns.size(), 2u) << chat.out;

    // Turn 2 = a one-shot generation after "hello" + turn 1's ids + " and".
    const auto first = mts::test::runCommand(gen + " --prompt-ids " + bytesAsIds("hello") + " --print-ids 2>/dev/null");
    ASSERT_EQ(first.exitCode, 0);
    EXPECT_EQ(first.out, turns[0] + "\n");
    const auto whole = mts::test::runCommand(gen + " --prompt-ids " + bytesAsIds("hello") + "," + turns[0] + "," +
                                             bytesAsIds(" and") + " --print-ids 2>/dev/null");
    ASSERT_EQ(whole.exitCode, 0);
    EXPECT_EQ(whole.out, turns[1] + "\n");
}

TEST(CliInteractive, ResetStartsOverAndTextTurnsPrintContinuations) {
    MTS_REQUIRE_SHARED(dir, "fixtures/mamba-tiny-hf");
    const std::string gen = generateCmd(dir.string());
    const auto ids = mts::test::runCommand("printf 'hello\\n/reset\\nhello\\n' | " + gen +
                                           " --interactive --print-ids 2>/dev/null");
    ASSERT_EQ(ids.exitCode, 0);
    const auto turns = lines(ids.out);
    ASSERT_EQ(turns.size(), 2u) << ids.out;
    EXPECT_EQ(turns[0], turns[1]);

    const auto text = mts::test::runCommand("printf 'hello\\n\\n' | " + gen + " --interactive 2>/dev/null");
    ASSERT_EQ(text.exitCode, 0);
    EXPECT_EQ(lines(text.out).size() >= 2u, true) << text.out;  // two turns, each ends with a newline
    EXPECT_EQ(text.out.back(), '\n');
}

}  // namespace
