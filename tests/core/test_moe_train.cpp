// The MoE Transformer through the normal trainer: the loss falls, the load-balancing loss is
// logged apart, run.json carries the active parameter count, checkpoints load back to the same
// logits, a run resumes, and generation runs on the loaded model.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mts/core/formats/model_io.h"
#include "mts/core/generate/generation.h"
#include "mts/core/train/checkpoint.h"
#include "mts/core/train/trainer.h"
#include "shared_data.h"
#include "test_train_support.h"

namespace mts {
namespace {

namespace fs = std::filesystem;

TrainConfig tinyMoeConfig(const fs::path& data) {
    TrainConfig cfg = test::tinyConfig(data, Architecture::Moe);
    cfg.model.nExperts = 4;
    cfg.model.expertsPerToken = 2;
    cfg.model.mlpRatio = 2;
    cfg.maxSteps = 25;
    cfg.logEvery = 1;
    cfg.evalEvery = 25;
    return cfg;
}

TEST(MoeTrain, LossFallsAuxLossIsLoggedAndCheckpointsRoundTrip) {
    test::TempDir dir;
    TrainConfig cfg = tinyMoeConfig(test::writeTinyCorpus(dir.path()));
    std::vector<double> losses;
    TrainCallbacks cb;
    cb.onProgress = [&](const TrainProgress& p) { losses.push_back(p.loss); };
    const TrainResult r = Trainer(cfg, TrainStart{dir.path() / "runs", "moe", {}, {}}, cb).run();
    ASSERT_EQ(r.stopReason, TrainStopReason::MaxSteps) << r.message;
    ASSERT_EQ(losses.size(), 25u);
    EXPECT_LT(losses.back(), losses.front() - 1.0);

    // metrics.jsonl: every train line carries aux_loss (weight * mean balance loss >= 0).
    std::ifstream metrics(r.runDir / "metrics.jsonl");
    std::string line;
    int trainLines = 0;
    while (std::getline(metrics, line)) {
        const auto j = nlohmann::json::parse(line);
        if (j["type"] != "train") continue;
        ++trainLines;
        ASSERT_TRUE(j.contains("aux_loss")) << line;
        EXPECT_GT(j["aux_loss"].get<double>(), 0.0);
        EXPECT_LT(j["aux_loss"].get<double>(), cfg.model.auxLossWeight * cfg.model.nExperts + 1e-9);
    }
    EXPECT_EQ(trainLines, 25);
    std::ifstream runJson(r.runDir / "run.json");
    const auto run = nlohmann::json::parse(runJson);
    EXPECT_EQ(run["arch"], "moe");
    EXPECT_LT(run["active_non_embedding_params"].get<int64_t>(), run["non_embedding_params"].get<int64_t>());

    // Save/load: the checkpoint's model gives the trained model's logits.
    LoadedModel loaded = loadModel(r.runDir);
    ASSERT_EQ(loaded.model->config().arch, Architecture::Moe);
    EXPECT_EQ(loaded.model->numParameters(), r.numParameters);
    LoadedCheckpoint ck = readCheckpoint(r.lastCheckpoint);
    loaded.model->eval();
    ck.model.model->eval();
    torch::NoGradGuard noGrad;
    const torch::Tensor ids = torch::randint(0, 200, {1, 16}, torch::kInt64);
    EXPECT_TRUE(torch::equal(loaded.model->forward(ids), ck.model.model->forward(ids)));

    // Generation through the KV cache on the loaded model.
    GenerateRequest req;
    req.promptIds = loaded.tokenizer->encode("the quick");
    req.options.maxNewTokens = 12;
    req.options.seed = 1;
    const GenerateResult g = generate(*loaded.model, loaded.tokenizer.get(), req);
    EXPECT_FALSE(g.ids.empty());
    EXPECT_LE(g.ids.size(), 12u);
}

TEST(MoeTrain, ResumesFromItsCheckpoint) {
    test::TempDir dir;
    TrainConfig cfg = tinyMoeConfig(test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 6;
    const TrainResult first = Trainer(cfg, TrainStart{dir.path() / "runs", "moe", {}, {}}).run();
    ASSERT_EQ(first.stopReason, TrainStopReason::MaxSteps) << first.message;
    TrainConfig more = Trainer::resumeConfig(first.runDir);
    more.maxSteps = 10;
    const TrainResult second = Trainer(more, TrainStart{{}, {}, first.runDir, {}}).run();
    ASSERT_EQ(second.stopReason, TrainStopReason::MaxSteps) << second.message;
    EXPECT_EQ(second.steps, 10);
    EXPECT_EQ(second.runDir, first.runDir);
    EXPECT_EQ(second.numParameters, first.numParameters);
}

}  // namespace
}  // namespace mts
