// Comparison suites: budgets, sizing to a parameter count, the SVG writer, and a tiny suite
// end to end through the CLI (report table with every row, parseable SVGs, a second invocation
// skips finished runs) and through the engine (an interrupted run is resumed, not restarted).
#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "command_run.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/train/compare_suite.h"
#include "mts/core/train/memory_estimate.h"
#include "mts/core/train/svg_plot.h"
#include "shared_data.h"
#include "test_train_support.h"
#include "test_files.h"

using mts::test::readFile;
using mts::test::readJson;
using mts::test::writeFile;

namespace mts {
namespace {

namespace fs = std::filesystem;

// Well-formed enough to parse: one root <svg>, every element closed in order, and every
// polyline's points numeric pairs. Returns the number of polylines (-1 when malformed).
int checkSvg(const std::string& svg) {
    if (svg.rfind("<?xml", 0) != 0 || svg.find("<svg ") == std::string::npos) return -1;
    std::vector<std::string> open;
    int polylines = 0;
    const std::regex tag(R"(<(/?)([a-zA-Z]+)([^>]*?)(/?)>)");
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator(); ++it) {
        const std::smatch& m = *it;
        const std::string name = m[2];
        if (m[1] == "/") {
            if (open.empty() || open.back() != name) return -1;
            open.pop_back();
        } else if (m[4] != "/") {
            open.push_back(name);
        }
        if (name == "polyline") {
            ++polylines;
            std::smatch pts;
            const std::string attrs = m[3];
            if (!std::regex_search(attrs, pts, std::regex(R"(points="([^"]*)\")"))) return -1;
            if (!std::regex_match(pts[1].str(), std::regex(R"((-?[0-9.]+,-?[0-9.]+)( -?[0-9.]+,-?[0-9.]+)*)")))
                return -1;
        }
    }
    return open.empty() ? polylines : -1;
}

TEST(CompareBudget, ParsesMinutesTokensAndFlopsAndRejectsTheRest) {
    EXPECT_EQ(CompareBudget::parse("10m").kind, CompareBudget::Kind::Minutes);
    EXPECT_DOUBLE_EQ(CompareBudget::parse("10m").value, 10.0);
    EXPECT_EQ(CompareBudget::parse("5000tokens").kind, CompareBudget::Kind::Tokens);
    EXPECT_DOUBLE_EQ(CompareBudget::parse("1e12flops").value, 1e12);
    EXPECT_EQ(CompareBudget::parse("1e12flops").kind, CompareBudget::Kind::Flops);
    for (const char* bad : {"", "10", "ten minutes", "-5m", "0tokens", "5 parsecs"})
        EXPECT_THROW(CompareBudget::parse(bad), ConfigError) << bad;
    EXPECT_EQ(CompareBudget::parse(CompareBudget::parse("2.5m").toString()).value, 2.5);
}

TEST(CompareSizing, EveryArchitectureLandsNearTheTargetAndBuildsThatSize) {
    const std::vector<std::string> ids = knownArchitectureIds();
    for (const char* id : {"mamba", "transformer", "attention1", "linear", "moe"})
        EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id;
    for (int64_t target : {int64_t(150000), int64_t(1200000)}) {
        for (const auto& id : ids) {
            ModelConfig shape;
            shape.arch = architectureFromString(id);
            shape.vocabSize = 257;
            shape.nLayer = 4;
            shape.context = 16;
            shape.maxSeqLen = 128;
            const ModelConfig sized = sizeModelForParameters(shape, target);
            const int64_t params = countParameters(sized);
            // Widths move in steps of 8: within 25% of the target at these sizes.
            EXPECT_NEAR(double(params) / double(target), 1.0, 0.25) << id << " at " << target << ": " << params;
            EXPECT_EQ(createModel(sized)->numParameters(), params) << id;
            EXPECT_EQ(sized.nHead, shape.nHead);
        }
    }
    ModelConfig huge;
    huge.vocabSize = 50000;
    huge.nLayer = 8;
    // The embedding alone overshoots: fewer layers, the narrowest width.
    const ModelConfig small = sizeModelForParameters(huge, 100000);
    EXPECT_EQ(small.nLayer, 1);
    EXPECT_THROW(sizeModelForParameters(huge, 0), ConfigError);
}

TEST(SvgPlot, WritesAParseablePlotWithOneLinePerSeries) {
    LinePlot plot{"loss <&> \"flops\"", "FLOPs", "loss", true,
                  {{"mamba", {{1e9, 3.0}, {1e10, 2.5}, {1e11, 2.0}}},
                   {"moe & co", {{2e9, 3.1}, {2e10, std::nan("")}, {0.0, 1.0}, {3e10, 2.2}}}}};
    const std::string svg = renderSvg(plot);
    EXPECT_EQ(checkSvg(svg), 2) << svg;
    EXPECT_NE(svg.find("moe &amp; co"), std::string::npos);
    const auto range = plotRange(plot);
    EXPECT_NEAR(range[0], 9.0, 1e-9);   // log10(1e9)
    EXPECT_NEAR(range[1], 11.0, 1e-9);  // the 0 and NaN points are skipped
}

TEST(CompareCli, TinySuiteWritesTheTableAndPlotsThenSkipsFinishedRuns) {
    test::TempDir dir;
    const fs::path data = test::writeTinyCorpus(dir.path(), 6000);
    const fs::path out = dir.path() / "report";
    const std::string cmd = test::cliPath() + " -q compare --data " + test::shellQuoted(data.string()) +
                            " --archs mamba,moe --budget 768tokens --params 30000 --out " +
                            test::shellQuoted(out.string()) +
                            " --set seq_len=32 --set micro_batch=4 --set grad_accum=1 --set eval_batches=2"
                            " --set sample_every=0 --set checkpoint_every=0 --set model.n_head=2"
                            " --set model.n_experts=4 2>/dev/null";
    const test::CommandRun first = test::runCommand(cmd);
    ASSERT_EQ(first.exitCode, 0) << first.out;
    const auto j = nlohmann::json::parse(first.out);
    ASSERT_EQ(j["rows"].size(), 2u) << first.out;
    for (const auto& row : j["rows"]) {
        EXPECT_EQ(row["status"], "finished") << row.dump();
        EXPECT_EQ(row["tokens"].get<double>(), 768.0);  // 6 steps of 4 x 32 tokens
        EXPECT_GT(row["best_val_loss"].get<double>(), 0.0);
        // A byte corpus: a token is a byte, but for the end-of-document ids (no bytes) between its
        // many short documents.
        EXPECT_NEAR(row["best_nats_per_byte"].get<double>(), row["best_val_loss"].get<double>(),
                    0.01 * row["best_val_loss"].get<double>()) << row.dump();
        EXPECT_GE(row["best_nats_per_byte"].get<double>(), row["best_val_loss"].get<double>()) << row.dump();
        EXPECT_NEAR(row["total_params"].get<double>() / 30000.0, 1.0, 0.3) << row.dump();
    }
    EXPECT_LT(j["rows"][1]["active_params"].get<int64_t>(), j["rows"][1]["total_params"].get<int64_t>());
    const std::string report = readFile(out / "report.md");
    EXPECT_NE(report.find("| mamba |"), std::string::npos) << report;
    EXPECT_NE(report.find("| moe |"), std::string::npos) << report;
    EXPECT_NE(report.find("parameters (active / total)"), std::string::npos);
    EXPECT_NE(report.find("SVG only"), std::string::npos);  // the CLI has no Qt
    EXPECT_NE(report.find("lr 0.003"), std::string::npos) << report;  // a small corpus: the small-data preset
    for (const char* plot : {"val_loss_vs_flops.svg", "val_loss_vs_time.svg"})
        EXPECT_EQ(checkSvg(readFile(out / plot)), 2) << plot;
    EXPECT_TRUE(fs::exists(out / "runs" / "mamba" / "metrics.jsonl"));

    const test::CommandRun second = test::runCommand(cmd);
    ASSERT_EQ(second.exitCode, 0) << second.out;
    const auto k = nlohmann::json::parse(second.out);
    ASSERT_EQ(k["rows"].size(), 2u);
    for (const auto& row : k["rows"]) EXPECT_EQ(row["status"], "skipped (finished before)") << row.dump();
    EXPECT_EQ(k["rows"][0]["best_val_loss"], j["rows"][0]["best_val_loss"]);
    size_t runs = 0;
    for (const auto& e : fs::directory_iterator(out / "runs")) runs += e.is_directory() ? 1 : 0;
    EXPECT_EQ(runs, 2u);  // nothing trained again

    // Another suite in the same folder is refused, naming the folder.
    const test::CommandRun other = test::runCommand(test::cliPath() + " -q compare --data " +
                                                    test::shellQuoted(data.string()) + " --archs mamba --budget 64tokens"
                                                    " --out " + test::shellQuoted(out.string()) + " 2>&1");
    EXPECT_NE(other.exitCode, 0);
    EXPECT_NE(other.out.find("another suite"), std::string::npos) << other.out;
}

// Text data with text_tokenizer=bpe:VOCAB: the models get that vocabulary, the report says which
// tokenizer it was and gives losses per byte, which are the per-token ones over bytes per token.
TEST(CompareCli, TextDataTrainsWithTheBpeTokenizerItAsksFor) {
    test::TempDir dir;
    std::string text;
    for (int i = 0; i < 400; ++i) text += "To be, or not to be, that is the question " + std::to_string(i % 13) + ".\n";
    writeFile(dir.path() / "play.txt", text);
    const fs::path out = dir.path() / "report";
    const test::CommandRun run = test::runCommand(
        test::cliPath() + " -q compare --data " + test::shellQuoted((dir.path() / "play.txt").string()) +
        " --archs mamba --budget 512tokens --params 30000 --out " + test::shellQuoted(out.string()) +
        " --set text_tokenizer=bpe:300 --set val_fraction=0.1 --set seq_len=32 --set micro_batch=4"
        " --set eval_batches=2 --set sample_every=0 --set checkpoint_every=0 2>/dev/null");
    ASSERT_EQ(run.exitCode, 0) << run.out;
    const auto row = nlohmann::json::parse(run.out)["rows"][0];
    EXPECT_EQ(row["status"], "finished") << row.dump();
    const double perToken = row["best_val_loss"].get<double>(), perByte = row["best_nats_per_byte"].get<double>();
    EXPECT_GT(perToken, 1.5 * perByte) << row.dump();  // BPE tokens hold several bytes each
    EXPECT_NEAR(perByte, row["best_bits_per_byte"].get<double>() * std::log(2.0), 1e-9);
    const auto config = readJson(out / "runs" / "mamba" / "config.json");
    EXPECT_EQ(config["text_tokenizer"], "bpe:300");
    // Up to 300 ids: the learner stops early when no pair is left twice (this text is repetitive).
    EXPECT_GT(config["model"]["vocab_size"].get<int>(), 270);
    EXPECT_LE(config["model"]["vocab_size"].get<int>(), 300);
    const std::string report = readFile(out / "report.md");
    EXPECT_NE(report.find("text tokenizer: bpe:300"), std::string::npos) << report;
    EXPECT_NE(report.find("best val nats/byte"), std::string::npos) << report;
    EXPECT_NE(report.find(fmt::format("| {:.4f} |", perByte)), std::string::npos) << report;
    EXPECT_NE(readFile(out / "val_loss_vs_time.svg").find("nats/byte"), std::string::npos);
    // The same suite with another tokenizer does not join this table.
    const test::CommandRun other = test::runCommand(
        test::cliPath() + " -q compare --data " + test::shellQuoted((dir.path() / "play.txt").string()) +
        " --archs mamba --budget 512tokens --params 30000 --out " + test::shellQuoted(out.string()) +
        " --set text_tokenizer=bpe:400 --set val_fraction=0.1 --set seq_len=32 --set micro_batch=4 2>&1");
    EXPECT_NE(other.exitCode, 0);
    EXPECT_NE(other.out.find("another suite"), std::string::npos) << other.out;
}

// The report's "d_model x layers" is what the model has: one attention layer for attention1
// (whatever n_layer says), none for the linear baseline ("-"); also when re-rendered after a skip.
TEST(CompareCli, TheReportShowsTheLayersTheBaselinesHave) {
    test::TempDir dir;
    const fs::path data = test::writeTinyCorpus(dir.path(), 6000);
    const fs::path out = dir.path() / "report";
    const std::string cmd = test::cliPath() + " -q compare --data " + test::shellQuoted(data.string()) +
                            " --archs attention1,linear --budget 128tokens --params 20000 --out " +
                            test::shellQuoted(out.string()) +
                            " --set seq_len=32 --set micro_batch=4 --set grad_accum=1 --set eval_batches=1"
                            " --set sample_every=0 --set checkpoint_every=0 --set model.n_head=2 2>/dev/null";
    for (int pass = 0; pass < 2; ++pass) {  // the second pass skips both runs and writes the report again
        const test::CommandRun r = test::runCommand(cmd);
        ASSERT_EQ(r.exitCode, 0) << r.out;
        const std::string report = readFile(out / "report.md");
        EXPECT_NE(report.find("| attention1 | "), std::string::npos) << report;
        EXPECT_NE(report.find(" x 1 | "), std::string::npos) << report;
        EXPECT_NE(report.find(" x - | "), std::string::npos) << report;
        EXPECT_EQ(report.find(" x 2 | "), std::string::npos) << report;
    }
}

TEST(CompareSuite, AnInterruptedRunIsResumedNotRestarted) {
    test::TempDir dir;
    CompareConfig c;
    c.data = test::writeTinyCorpus(dir.path(), 6000).string();
    c.archs = {"transformer"};
    c.budget = CompareBudget::parse("1280tokens");
    c.outDir = dir.path() / "suite";
    c.targetParams = 30000;
    c.train = test::tinyConfig(c.data);
    c.train.checkpointEvery = 2;
    ModelConfig shape;
    shape.arch = Architecture::Transformer;
    shape.nLayer = 2;
    shape.nHead = 2;
    c.shapes = {shape};
    // Cancel during step 5: the run stops with a checkpoint, like a Ctrl-C.
    CompareCallbacks cb;
    CompareSuite* self = nullptr;
    cb.onProgress = [&](const CompareProgress& p) {
        if (p.train.step == 5) self->cancel();
    };
    CompareSuite first(c, cb);
    self = &first;
    const CompareResult r1 = first.run();
    ASSERT_TRUE(r1.cancelled) << r1.message;
    ASSERT_EQ(r1.rows.size(), 1u);
    const fs::path runDir = r1.rows[0].runDir;

    CompareSuite second(c);
    const CompareResult r2 = second.run();
    ASSERT_TRUE(r2.ok) << r2.message;
    ASSERT_EQ(r2.rows.size(), 1u);
    EXPECT_EQ(r2.rows[0].status, "finished");
    EXPECT_EQ(r2.rows[0].runDir, runDir);  // the same run folder, continued
    EXPECT_EQ(r2.rows[0].tokens, 1280.0);
    size_t runs = 0;
    for (const auto& e : fs::directory_iterator(c.outDir / "runs")) runs += e.is_directory() ? 1 : 0;
    EXPECT_EQ(runs, 1u);
}

}  // namespace
}  // namespace mts
