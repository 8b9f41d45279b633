// Checkpoints: exact round trip, exact resume, corrupt and unwritable folders.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mts/core/formats/model_io.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/train/checkpoint.h"
#include "mts/core/train/trainer.h"
#include "shared_data.h"
#include "test_train_support.h"

namespace mts {
namespace {

namespace fs = std::filesystem;

TEST(Checkpoint, RoundTripRestoresEveryTensorAndCounter) {
    test::TempDir dir;
    TrainConfig cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.model.vocabSize = 257;
    cfg.optimizer = OptimizerKind::Muon;
    torch::manual_seed(11);
    auto model = createModel(cfg.model);
    std::vector<NamedParam> hidden, other;
    std::vector<bool> decay;
    for (auto& p : model->named_parameters()) {
        if (classifyParameter(p.key(), p.value()) == ParamRole::Hidden) {
            hidden.push_back({p.key(), p.value()});
        } else {
            other.push_back({p.key(), p.value()});
            decay.push_back(false);
        }
    }
    HybridMuon opt(hidden, other, decay, MuonOptions{}, AdamWOptions{});
    auto ids = torch::randint(0, 257, {2, 9}, torch::kInt64);
    for (int i = 0; i < 2; ++i) {
        auto logits = model->forward(ids.slice(1, 0, 8));
        torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), ids.slice(1, 1, 9).reshape({-1}))
            .backward();
        opt.step(0.7);
        opt.zeroGrad();
    }
    TrainerState st;
    st.step = 2;
    st.tokensSeen = 32;
    st.elapsedSec = 1.5;
    st.bestValLoss = 3.25;
    st.bestStep = 2;
    st.lastValLoss = 3.5;
    st.lastEvalStep = 2;
    st.evalsWithoutImprovement = 1;
    st.skippedSteps = 1;
    st.lossScale = 4096;
    st.goodStepsSinceScale = 17;
    st.dataSeed = 77;
    torch::manual_seed(5);
    torch::rand({3});
    auto tok = makeByteTokenizer();
    CheckpointWrite w{&cfg, &st, model.get(), tok.get(), &opt, 0};
    auto out = writeCheckpoint(dir / "checkpoints", w);
    EXPECT_EQ(out.filename(), "step-00000002");
    auto expectedNext = torch::rand({3});  // what the RNG gives after the saved state

    auto ck = readCheckpoint(dir.path());  // the checkpoints/ parent resolves too
    EXPECT_EQ(ck.dir, out);
    EXPECT_EQ(ck.state.toJson(), st.toJson());
    EXPECT_EQ(ck.config.toJson(), cfg.toJson());
    auto loaded = ck.model.model->named_parameters();
    for (auto& p : model->named_parameters()) {
        ASSERT_TRUE(loaded.contains(p.key())) << p.key();
        EXPECT_TRUE(torch::equal(p.value(), loaded[p.key()])) << p.key();
    }
    auto state = opt.stateDict();
    EXPECT_EQ(ck.optimizerState.size(), state.size());
    for (auto& [k, v] : state) {
        ASSERT_TRUE(ck.optimizerState.count(k)) << k;
        EXPECT_TRUE(torch::equal(v, ck.optimizerState.at(k))) << k;
    }
    ASSERT_TRUE(ck.cpuRngState.defined());
    auto gen = at::detail::getDefaultCPUGenerator();
    gen.set_state(ck.cpuRngState);
    EXPECT_TRUE(torch::equal(torch::rand({3}), expectedNext));
    EXPECT_EQ(ck.model.tokenizer->kind(), "byte");
}

// Losses after resuming at step k equal those of an uninterrupted run, bit for bit (CPU fp32).
void expectResumeIsExact(OptimizerKind kind) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.optimizer = kind;
    cfg.maxSteps = 8;
    cfg.evalEvery = 3;
    cfg.warmupSteps = 3;
    auto collect = [](std::vector<double>& into, Trainer** self, int64_t cancelAt) {
        TrainCallbacks cb;
        cb.onProgress = [&into, self, cancelAt](const TrainProgress& p) {
            into.push_back(p.loss);
            if (p.step == cancelAt) (*self)->cancel();
        };
        return cb;
    };
    std::vector<double> full, first, second;
    Trainer* self = nullptr;
    Trainer a(cfg, TrainStart{dir.path(), "full", {}, {}}, collect(full, &self, -1));
    self = &a;
    auto ra = a.run();
    ASSERT_EQ(ra.stopReason, TrainStopReason::MaxSteps) << ra.message;

    Trainer b(cfg, TrainStart{dir.path(), "part", {}, {}}, collect(first, &self, 4));
    self = &b;
    auto rb = b.run();
    ASSERT_EQ(rb.stopReason, TrainStopReason::Cancelled) << rb.message;
    ASSERT_EQ(rb.steps, 4);

    auto resumeCfg = Trainer::resumeConfig(rb.runDir);
    EXPECT_EQ(resumeCfg.maxSteps, 8);
    Trainer c(resumeCfg, TrainStart{{}, {}, rb.runDir, {}}, collect(second, &self, -1));
    self = &c;
    auto rc = c.run();
    ASSERT_EQ(rc.stopReason, TrainStopReason::MaxSteps) << rc.message;
    EXPECT_EQ(rc.runDir, rb.runDir);
    EXPECT_EQ(rc.steps, 8);
    EXPECT_EQ(rc.tokensSeen, ra.tokensSeen);

    first.insert(first.end(), second.begin(), second.end());
    ASSERT_EQ(first.size(), full.size());
    for (size_t i = 0; i < full.size(); ++i) EXPECT_EQ(first[i], full[i]) << "step " << i + 1;
    EXPECT_EQ(rc.finalValLoss, ra.finalValLoss);
    auto ma = loadModel(ra.lastCheckpoint).model->named_parameters();
    for (auto& p : loadModel(rc.lastCheckpoint).model->named_parameters())
        EXPECT_TRUE(torch::equal(p.value(), ma[p.key()])) << p.key();
}

TEST(Checkpoint, ResumeEqualsUninterruptedAdamW) { expectResumeIsExact(OptimizerKind::AdamW); }
TEST(Checkpoint, ResumeEqualsUninterruptedMuon) { expectResumeIsExact(OptimizerKind::Muon); }

TEST(Checkpoint, CorruptCheckpointGivesAClearError) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 2;
    auto r = Trainer(cfg, TrainStart{dir.path(), "c", {}, {}}, {}).run();
    ASSERT_EQ(r.stopReason, TrainStopReason::MaxSteps) << r.message;
    const fs::path ck = r.lastCheckpoint;
    auto backup = dir / "backup";
    fs::copy(ck, backup, fs::copy_options::recursive);
    auto restore = [&] {
        fs::remove_all(ck);
        fs::copy(backup, ck, fs::copy_options::recursive);
    };
    auto expectError = [&](const std::string& file) {
        try {
            readCheckpoint(ck);
            ADD_FAILURE() << "expected FormatError for a corrupt " << file;
        } catch (const FormatError& e) {
            EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
        }
    };
    // Truncated model weights.
    fs::resize_file(ck / "model.safetensors", fs::file_size(ck / "model.safetensors") / 2);
    expectError("model.safetensors");
    restore();
    // Garbage optimizer state.
    std::ofstream(ck / "optimizer.safetensors", std::ios::trunc) << "not a safetensors file";
    expectError("optimizer.safetensors");
    restore();
    // Broken trainer state.
    std::ofstream(ck / "trainer_state.json", std::ios::trunc) << "{\"format\": \"mts-trainer-state\", \"version\": 1";
    expectError("trainer_state.json");
    restore();
    EXPECT_NO_THROW(readCheckpoint(ck));
    // Resuming from a corrupt checkpoint fails the run with the file named, nothing else.
    fs::resize_file(ck / "model.safetensors", 10);
    auto rr = Trainer(Trainer::resumeConfig(r.runDir), TrainStart{{}, {}, r.runDir, {}}, {}).run();
    EXPECT_EQ(rr.stopReason, TrainStopReason::Failed);
    EXPECT_NE(rr.message.find("model.safetensors"), std::string::npos) << rr.message;
    // No checkpoint at all.
    EXPECT_THROW(readCheckpoint(dir / "nothing-here"), FormatError);
}

TEST(Checkpoint, UnwritableFolderGivesAClearErrorAndKeepsThePrevious) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.model.vocabSize = 257;
    auto model = createModel(cfg.model);
    AdamW opt({}, {}, AdamWOptions{});
    auto tok = makeByteTokenizer();
    TrainerState st;
    st.step = 1;
    CheckpointWrite w{&cfg, &st, model.get(), tok.get(), &opt, 0};
    auto first = writeCheckpoint(dir / "checkpoints", w);
    // A file where the next temporary folder must go: creation fails even for root.
    st.step = 2;
    std::ofstream(dir / "checkpoints" / "blocker") << "x";
    try {
        writeCheckpoint(dir / "checkpoints" / "blocker", w);
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find("step 2"), std::string::npos) << msg;
        EXPECT_NE(msg.find("previous checkpoint is intact"), std::string::npos) << msg;
    }
    EXPECT_EQ(resolveCheckpointDir(dir / "checkpoints"), first);
    EXPECT_NO_THROW(readCheckpoint(dir / "checkpoints"));
}

TEST(Checkpoint, KeepsTheLastKAndTheBest) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 10;
    cfg.checkpointEvery = 1;
    cfg.keepLast = 2;
    cfg.evalEvery = 1;
    cfg.keepBest = true;
    cfg.lr = 1e-2;
    auto r = Trainer(cfg, TrainStart{dir.path(), "keep", {}, {}}, {}).run();
    ASSERT_EQ(r.stopReason, TrainStopReason::MaxSteps) << r.message;
    std::vector<std::string> names;
    for (auto& e : fs::directory_iterator(r.runDir / "checkpoints"))
        if (e.is_directory()) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    std::ifstream best(r.runDir / "checkpoints" / "best.txt");
    std::string bestName;
    best >> bestName;
    EXPECT_TRUE(std::find(names.begin(), names.end(), bestName) != names.end()) << bestName;
    EXPECT_LE(names.size(), 3u);
    EXPECT_EQ(names.back(), "step-00000010");
    std::ifstream latest(r.runDir / "checkpoints" / "latest.txt");
    std::string latestName;
    latest >> latestName;
    EXPECT_EQ(latestName, "step-00000010");
}

}  // namespace
}  // namespace mts
