// The CLI's safety switches: `ingest` leaves secrets and links out of the folder by default and
// reports them; --include-secrets and --follow-links-outside opt in.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "command_run.h"
#include "minimal_pdf.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::writeFile;

namespace fs = std::filesystem;
using mts::test::shellQuoted;

namespace {

std::string manyWords(const std::string& tag) {
    std::string s;
    for (int i = 0; i < 300; ++i) s += tag + " word " + std::to_string(i) + ".\n";
    return s;
}

nlohmann::json ingestJson(const fs::path& src, const fs::path& out, const std::string& flags) {
    const auto run = mts::test::runCommand(shellQuoted(mts::test::cliPath()) + " -q ingest " + shellQuoted(src.string()) +
                                           " --out " + shellQuoted(out.string()) + " --json " + flags + " 2>/dev/null");
    EXPECT_EQ(run.exitCode, 0) << run.out;
    return nlohmann::json::parse(run.out, nullptr, false);
}

}  // namespace

TEST(CliIngestSafety, SecretsAndOutsideLinksSkippedUnlessAsked) {
    ASSERT_TRUE(fs::exists(mts::test::cliPath())) << mts::test::cliPath();
    mts::test::TempDir tmp;
    const fs::path src = tmp / "project", outside = tmp / "elsewhere";
    writeFile(src / "README.md", manyWords("readme"));
    writeFile(src / ".env", "API_TOKEN=abc\n" + manyWords("env"));
    writeFile(outside / "diary.txt", manyWords("diary"));
    fs::create_directory_symlink(outside, src / "linked");

    nlohmann::json j = ingestJson(src, tmp / "c1", "");
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j["documents"], 1);
    EXPECT_EQ(j["ingest"]["skipped_by_reason"]["secret"], 1);
    EXPECT_EQ(j["ingest"]["skipped_by_reason"]["symlink-outside"], 1);

    j = ingestJson(src, tmp / "c2", "--include-secrets --follow-links-outside");
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j["documents"], 3);
    EXPECT_FALSE(j["ingest"]["skipped_by_reason"].contains("secret"));
    // The manifest records the opt-ins.
    std::ifstream in(tmp / "c2" / "manifest.json");
    std::stringstream ss;
    ss << in.rdbuf();
    const auto manifest = nlohmann::json::parse(ss.str());
    EXPECT_EQ(manifest["ingest_settings"]["include_secrets"], true);
    EXPECT_EQ(manifest["ingest_settings"]["follow_links_outside"], true);
}

// A PDF that hangs poppler costs that file only: the CLI finishes, reports it and writes the corpus.
TEST(CliIngestSafety, HangingPdfIsReportedAndTheIngestFinishes) {
    ASSERT_TRUE(fs::exists(mts::test::cliPath())) << mts::test::cliPath();
    mts::test::PdfHelperTestMarkers markers;  // inherited by the CLI and its helper
    mts::test::TempDir tmp;
    const fs::path src = tmp / "pdfs";
    writeFile(src / "good.pdf", mts::test::minimalPdf("A readable PDF page"));
    writeFile(src / "stuck.pdf", mts::test::minimalPdf("never", "%mts-test:hang\n"));
    writeFile(src / "notes.md", manyWords("notes"));
    nlohmann::json j = ingestJson(src, tmp / "c", "--pdf-timeout 3");
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j["documents"], 2);
    EXPECT_EQ(j["ingest"]["skipped_by_reason"]["pdf-timeout"], 1);
    EXPECT_TRUE(fs::exists(tmp / "c" / "train.bin"));
}
