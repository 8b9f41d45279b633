// `mamba-studio-cli tokenize`: stdin text -> ids -> text, through the real executable.
#include <array>
#include <cstdio>

#include <sys/wait.h>
#include <fstream>

#include <gtest/gtest.h>

#include "command_run.h"
#include "shared_data.h"

using mts::test::cliCommand;

namespace {

// Runs `command`, feeding `input` through a temporary file; returns stdout and the exit status.
std::pair<std::string, int> runWithInput(const std::string& command, const std::string& input) {
    mts::test::TempDir dir;
    {
        std::ofstream in(dir / "stdin", std::ios::binary);
        in << input;
    }
    const std::string full = command + " < '" + (dir / "stdin").string() + "' 2>/dev/null";
    FILE* pipe = ::popen(full.c_str(), "r");
    if (!pipe) return {"", -1};
    std::string out;
    std::array<char, 4096> buf{};
    size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
    const int status = ::pclose(pipe);
    return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

}  // namespace

TEST(TokenizeCli, EncodesAndDecodesGpt2) {
    ASSERT_TRUE(std::filesystem::exists(mts::test::cliPath())) << "CLI not built: " << mts::test::cliPath();
    MTS_REQUIRE_SHARED(dir, "fixtures/tokenizer-gpt2");
    const std::string tok = " --tokenizer '" + dir.string() + "'";
    auto [ids, rc] = runWithInput(cliCommand() + " tokenize" + tok, "Hello world");
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(ids, "15496,995\n");
    const std::string text = "caf\xC3\xA9 <|endoftext|>\n\t \xF0\x9F\x98\x80";
    auto [ids2, rc2] = runWithInput(cliCommand() + " tokenize" + tok, text);
    ASSERT_EQ(rc2, 0);
    auto [back, rc3] = runWithInput(cliCommand() + " tokenize --decode" + tok, ids2);
    EXPECT_EQ(rc3, 0);
    EXPECT_EQ(back, text);
}

TEST(TokenizeCli, RejectsBadIdsAndMissingTokenizer) {
    ASSERT_TRUE(std::filesystem::exists(mts::test::cliPath())) << "CLI not built: " << mts::test::cliPath();
    EXPECT_EQ(runWithInput(cliCommand() + " tokenize --tokenizer byte --decode", "104,105").first, "hi");
    EXPECT_NE(runWithInput(cliCommand() + " tokenize --tokenizer byte --decode", "1,x").second, 0);
    EXPECT_NE(runWithInput(cliCommand() + " tokenize --tokenizer byte --decode", "300").second, 0);
    EXPECT_NE(runWithInput(cliCommand() + " tokenize --tokenizer /nonexistent/tok.json", "a").second, 0);
}
