// The trainer end to end on a tiny corpus: learning, accumulation, NaN handling, cancel,
// pause, evaluation/sample outputs, stop conditions.
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <thread>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mts/core/corpus/corpus_writer.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/tokenize/bpe_trainer.h"
#include "mts/core/train/checkpoint.h"
#include "mts/core/train/run_dir.h"
#include "mts/core/train/trainer.h"
#include "shared_data.h"
#include "test_train_support.h"

namespace mts {
namespace {

namespace fs = std::filesystem;

std::vector<nlohmann::json> readJsonl(const fs::path& p) {
    std::vector<nlohmann::json> out;
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    return out;
}

TEST(Train, TinyMambaOverfitsTinyCorpus) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path(), 4000));
    cfg.maxSteps = 100;
    cfg.lr = 1e-2;
    cfg.warmupSteps = 10;
    cfg.microBatch = 8;
    cfg.evalEvery = 100;
    std::vector<double> losses;
    TrainCallbacks cb;
    cb.onProgress = [&](const TrainProgress& p) { losses.push_back(p.loss); };
    Trainer t(cfg, TrainStart{dir.path() / "runs", "overfit", {}, {}}, cb);
    auto r = t.run();
    ASSERT_EQ(r.stopReason, TrainStopReason::MaxSteps) << r.message;
    ASSERT_EQ(losses.size(), 100u);
    std::printf("[overfit] loss %.3f -> %.3f (val %.3f)\n", losses.front(), r.finalLoss, r.finalValLoss);
    EXPECT_GT(losses.front(), 4.5);  // ~ln(257) at the start
    // Four repeated sentences: a model that learned them predicts most bytes.
    EXPECT_LT(r.finalLoss, 1.2) << "final training loss " << r.finalLoss;
    EXPECT_LT(r.finalValLoss, 1.5);
    // Byte tokenizer: 1 byte per token, except the end-of-document id that ends the text (the
    // last of the 200 validation tokens: 5% of 4000 bytes + 1).
    EXPECT_NEAR(r.finalBitsPerByte, r.finalValLoss / std::log(2.0) / (199.0 / 200.0), 1e-9);
    EXPECT_TRUE(fs::exists(r.lastCheckpoint / "model.safetensors"));
    auto loaded = loadModel(r.runDir);  // a run folder loads as its latest checkpoint
    EXPECT_EQ(loaded.model->numParameters(), r.numParameters);
}

TEST(Train, TransformerTrainsThroughTheSamePath) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()), Architecture::Transformer);
    cfg.maxSteps = 30;
    cfg.optimizer = OptimizerKind::Muon;
    std::vector<double> losses;
    TrainCallbacks cb;
    cb.onProgress = [&](const TrainProgress& p) { losses.push_back(p.loss); };
    auto r = Trainer(cfg, TrainStart{dir.path(), "tr", {}, {}}, cb).run();
    ASSERT_EQ(r.stopReason, TrainStopReason::MaxSteps) << r.message;
    EXPECT_LT(losses.back(), losses.front() - 1.0);
}

// k micro-batches of b rows == one batch of k*b rows: same windows (data_loader.h), loss
// averaged the same way, one optimizer step either way.
TEST(Train, GradAccumulationEqualsOneLargeBatch) {
    test::TempDir dir;
    auto data = test::writeTinyCorpus(dir.path());
    auto runWith = [&](int64_t micro, int64_t accum, const std::string& name) {
        auto cfg = test::tinyConfig(data);
        cfg.maxSteps = 3;
        cfg.microBatch = micro;
        cfg.gradAccum = accum;
        std::vector<double> losses;
        TrainCallbacks cb;
        cb.onProgress = [&](const TrainProgress& p) { losses.push_back(p.loss); };
        auto r = Trainer(cfg, TrainStart{dir.path(), name, {}, {}}, cb).run();
        EXPECT_EQ(r.stopReason, TrainStopReason::MaxSteps) << r.message;
        EXPECT_EQ(r.tokensSeen, 3 * 8 * 32);
        return std::make_pair(losses, loadModel(r.lastCheckpoint).model);
    };
    auto [lossBig, big] = runWith(8, 1, "big");
    auto [lossAcc, acc] = runWith(2, 4, "acc");
    ASSERT_EQ(lossBig.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(lossBig[i], lossAcc[i], 1e-5);
    auto pa = acc->named_parameters();
    for (auto& p : big->named_parameters())
        EXPECT_TRUE(torch::allclose(p.value(), pa[p.key()], 1e-4, 1e-5)) << p.key();
}

TEST(Train, NanStepIsSkippedAndReported) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 6;
    cfg.debugNanSteps = {3};
    std::vector<TrainProgress> seen;
    std::vector<std::string> warnings;
    TrainCallbacks cb;
    cb.onProgress = [&](const TrainProgress& p) { seen.push_back(p); };
    cb.onWarning = [&](const std::string& w) { warnings.push_back(w); };
    auto r = Trainer(cfg, TrainStart{dir.path(), "nan", {}, {}}, cb).run();
    ASSERT_EQ(r.stopReason, TrainStopReason::MaxSteps) << r.message;
    EXPECT_EQ(r.skippedSteps, 1);
    ASSERT_EQ(seen.size(), 6u);
    EXPECT_TRUE(seen[2].skipped);
    EXPECT_TRUE(std::isnan(seen[2].loss));
    EXPECT_FALSE(seen[3].skipped);
    ASSERT_FALSE(warnings.empty());
    EXPECT_NE(warnings[0].find("step 3"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[0].find("skipped"), std::string::npos);
    auto model = loadModel(r.lastCheckpoint).model;
    for (auto& p : model->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
    bool logged = false;
    for (auto& line : readJsonl(r.runDir / "metrics.jsonl"))
        if (line["step"] == 3 && line["skipped"] == true) logged = true;
    EXPECT_TRUE(logged);
}

TEST(Train, NanStepsInARowStopTheRunAndKeepTheLastGoodCheckpoint) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 20;
    cfg.checkpointEvery = 2;
    cfg.maxNonFinite = 3;
    cfg.debugNanSteps = {5, 6, 7, 8};
    auto r = Trainer(cfg, TrainStart{dir.path(), "nan3", {}, {}}, {}).run();
    ASSERT_EQ(r.stopReason, TrainStopReason::NonFinite);
    EXPECT_EQ(r.steps, 7);
    EXPECT_NE(r.message.find("3 steps in a row"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("step-00000004"), std::string::npos) << r.message;
    EXPECT_EQ(resolveCheckpointDir(r.runDir).filename(), "step-00000004");
    auto ck = readCheckpoint(r.runDir);
    EXPECT_EQ(ck.state.step, 4);
}

TEST(Train, CancelFromAnotherThreadFinishesTheStepAndSaves) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 100000;
    std::atomic<int64_t> step{0};
    TrainCallbacks cb;
    cb.onProgress = [&](const TrainProgress& p) { step = p.step; };
    Trainer t(cfg, TrainStart{dir.path(), "cancel", {}, {}}, cb);
    TrainResult r;
    std::thread worker([&] { r = t.run(); });
    while (step.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    t.cancel();
    worker.join();
    EXPECT_EQ(r.stopReason, TrainStopReason::Cancelled);
    EXPECT_GE(r.steps, 3);
    EXPECT_LT(r.steps, 100000);
    ASSERT_FALSE(r.lastCheckpoint.empty());
    auto ck = readCheckpoint(r.runDir);
    EXPECT_EQ(ck.state.step, r.steps);
    EXPECT_NO_THROW(loadModel(r.lastCheckpoint));
}

// A Cancel click (or a closing window) during an evaluation does not wait it out: the evaluation
// stops between batches, records nothing, and the run saves its step as a cancelled run does.
TEST(Train, CancelDuringAnEvaluationStopsItAndSavesTheStep) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 1000;
    cfg.evalEvery = 4;
    cfg.evalBatches = 500;
    Trainer* trainer = nullptr;
    int evals = 0;
    TrainCallbacks cb;
    // onProgress comes after the step's update, before the evaluations due at that step.
    cb.onProgress = [&](const TrainProgress& p) {
        if (p.step == 4) trainer->cancel();
    };
    cb.onEval = [&](const EvalReport&) { ++evals; };
    Trainer t(cfg, TrainStart{dir.path(), "cancel-eval", {}, {}}, cb);
    trainer = &t;
    const TrainResult r = t.run();
    EXPECT_EQ(r.stopReason, TrainStopReason::Cancelled);
    EXPECT_NE(r.message.find("during an evaluation"), std::string::npos) << r.message;
    EXPECT_EQ(r.steps, 4);
    EXPECT_EQ(evals, 0);
    EXPECT_LT(r.bestValLoss, 0.0);  // never evaluated
    ASSERT_FALSE(r.lastCheckpoint.empty());
    EXPECT_EQ(readCheckpoint(r.runDir).state.step, 4);
    for (auto& l : readJsonl(r.runDir / "metrics.jsonl")) EXPECT_NE(l.value("type", ""), "eval") << l.dump();
}

TEST(Train, PauseHoldsTheRunUntilResumed) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 8;
    std::atomic<int64_t> step{0};
    TrainCallbacks cb;
    cb.onProgress = [&](const TrainProgress& p) { step = p.step; };
    Trainer t(cfg, TrainStart{dir.path(), "pause", {}, {}}, cb);
    t.pause();
    TrainResult r;
    std::thread worker([&] { r = t.run(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(step.load(), 0);  // paused before the first step
    EXPECT_TRUE(t.isPaused());
    // run.json tells other processes (the studio's Runs page) what the run is doing.
    const fs::path status = dir / "pause" / "run.json";
    ASSERT_TRUE(fs::exists(status));
    auto j = nlohmann::json::parse(std::ifstream(status));
    EXPECT_EQ(j["status"], "paused");
    EXPECT_EQ(j["pid"], static_cast<int64_t>(::getpid()));
    EXPECT_GT(j["params"].get<int64_t>(), 0);
    t.resume();
    worker.join();
    EXPECT_EQ(r.stopReason, TrainStopReason::MaxSteps);
    EXPECT_EQ(r.steps, 8);
    j = nlohmann::json::parse(std::ifstream(status));
    EXPECT_EQ(j["status"], "finished");
    EXPECT_EQ(j["stop_reason"], "max_steps");
    EXPECT_EQ(j["step"], 8);
    EXPECT_EQ(j["last_checkpoint"], r.lastCheckpoint.filename().string());
}

TEST(Train, EarlyStoppingAfterPatienceEvaluationsWithoutImprovement) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 50;
    cfg.evalEvery = 1;
    cfg.earlyStoppingPatience = 2;
    // Updates far below float resolution (lr 1e-12 scaled by a warm-up of a million steps):
    // the weights, and so the validation loss, stay exactly as they are.
    cfg.lr = 1e-12;
    cfg.warmupSteps = 1000000;
    cfg.weightDecay = 0.0;
    std::vector<EvalReport> evals;
    TrainCallbacks cb;
    cb.onEval = [&](const EvalReport& e) { evals.push_back(e); };
    auto r = Trainer(cfg, TrainStart{dir.path(), "patience", {}, {}}, cb).run();
    EXPECT_EQ(r.stopReason, TrainStopReason::EarlyStopping) << r.message;
    EXPECT_EQ(r.steps, 3);  // best at step 1, then two evaluations without improvement
    ASSERT_EQ(evals.size(), 3u);
    EXPECT_TRUE(evals[0].best);
    EXPECT_FALSE(evals[1].best);
    EXPECT_FALSE(evals[2].best);
    EXPECT_NE(r.message.find("best"), std::string::npos) << r.message;
    auto j = nlohmann::json::parse(std::ifstream(r.runDir / "run.json"));
    EXPECT_EQ(j["status"], "stopped early");
    EXPECT_EQ(j["best_step"], 1);

    // Patience 0 is off: the same run goes to max_steps.
    cfg.earlyStoppingPatience = 0;
    cfg.maxSteps = 5;
    auto r2 = Trainer(cfg, TrainStart{dir.path(), "no-patience", {}, {}}, {}).run();
    EXPECT_EQ(r2.stopReason, TrainStopReason::MaxSteps) << r2.message;
    EXPECT_EQ(r2.steps, 5);
}

// Fine-tuning (init_from): a model exported to the Hugging Face layout with its own BPE
// tokenizer starts the run; text is tokenized with that tokenizer, the model config is the
// pretrained one, and the first loss shows the pretrained weights. A corpus built with another
// tokenizer is refused with a clear message.
TEST(Train, FineTunesAnExportedModelWithItsOwnTokenizer) {
    test::TempDir dir;
    const fs::path text = test::writeTinyCorpus(dir.path(), 20000);
    BpeTrainerConfig bc;
    bc.vocabSize = 300;
    bc.minPairCount = 1;
    BpeTrainer bt(bc);
    std::ifstream in(text, std::ios::binary);
    bt.addText(std::string(std::istreambuf_iterator<char>(in), {}));
    std::shared_ptr<Tokenizer> bpe = bt.train().tokenizer;
    ASSERT_EQ(bpe->kind(), "bpe");

    // "Pretrain": a tiny Mamba on the BPE-tokenized text, saved as a model folder.
    auto pre = test::tinyConfig(text);
    pre.model.vocabSize = bpe->vocabSize();
    pre.maxSteps = 60;
    torch::manual_seed(1);
    const ModelConfig mc = pre.model;
    LanguageModel m = createModel(mc);
    saveModel(dir / "fresh", *m, bpe.get());
    pre.initFrom = (dir / "fresh").string();
    auto rPre = Trainer(pre, TrainStart{dir.path(), "pretrain", {}, {}}, {}).run();
    ASSERT_EQ(rPre.stopReason, TrainStopReason::MaxSteps) << rPre.message;
    auto trained = loadModel(rPre.runDir);
    saveModel(dir / "pretrained", *trained.model, trained.tokenizer.get());

    auto firstLoss = [&](const std::string& initFrom, const std::string& name, std::string* dataLine) {
        auto cfg = test::tinyConfig(text);
        cfg.initFrom = initFrom;
        cfg.model.dModel = 48;  // ignored when fine-tuning: the pretrained config wins
        cfg.maxSteps = 2;
        cfg.logEvery = 1;
        double loss = -1;
        TrainCallbacks cb;
        cb.onProgress = [&](const TrainProgress& p) {
            if (loss < 0) loss = p.loss;
        };
        cb.onLog = [&](const std::string& l) {
            if (dataLine && l.rfind("text ", 0) == 0) *dataLine = l;
        };
        auto r = Trainer(cfg, TrainStart{dir.path(), name, {}, {}}, cb).run();
        EXPECT_EQ(r.stopReason, TrainStopReason::MaxSteps) << r.message;
        return std::make_pair(loss, r);
    };
    std::string dataLine;
    auto [tunedLoss, tuned] = firstLoss((dir / "pretrained").string(), "tuned", &dataLine);
    auto [freshLoss, fresh] = firstLoss((dir / "fresh").string(), "from-fresh", nullptr);
    EXPECT_NE(dataLine.find("bpe tokenizer, vocab 300"), std::string::npos) << dataLine;
    EXPECT_LT(tunedLoss, freshLoss - 0.5) << "pretrained weights were not used";
    auto saved = TrainConfig::fromJson(nlohmann::json::parse(std::ifstream(tuned.runDir / "config.json")));
    EXPECT_EQ(saved.model.dModel, 32);
    EXPECT_EQ(saved.model.vocabSize, mc.vocabSize);
    EXPECT_TRUE(fs::path(saved.initFrom).is_absolute());
    // The fine-tuned checkpoint carries the BPE tokenizer.
    EXPECT_EQ(loadModel(tuned.runDir).tokenizer->kind(), "bpe");

    // A corpus folder built with the byte tokenizer does not fit the BPE model.
    {
        auto byteTok = makeByteTokenizer();
        CorpusWriterConfig wc;
        wc.outDir = dir / "byte-corpus";
        wc.threads = 1;
        wc.minValTokens = 200;
        CorpusWriter w(wc, *byteTok);
        std::ifstream t(text, std::ios::binary);
        w.add({"tiny.txt", "text", std::string(std::istreambuf_iterator<char>(t), {})});
        w.finish();
    }
    auto bad = test::tinyConfig(dir / "byte-corpus");
    bad.initFrom = (dir / "pretrained").string();
    auto rBad = Trainer(bad, TrainStart{dir.path(), "mismatch", {}, {}}, {}).run();
    EXPECT_EQ(rBad.stopReason, TrainStopReason::Failed);
    EXPECT_NE(rBad.message.find("tokenized with a byte tokenizer"), std::string::npos) << rBad.message;
}

TEST(Train, EvaluationsSamplesAndMetricsAreWritten) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 6;
    cfg.evalEvery = 3;
    cfg.sampleEvery = 3;
    cfg.samplePrompts = {"the ", "to be"};
    cfg.sampleTokens = 12;
    cfg.keepBest = true;
    std::vector<EvalReport> evals;
    std::vector<SampleReport> samples;
    TrainCallbacks cb;
    cb.onEval = [&](const EvalReport& e) { evals.push_back(e); };
    cb.onSample = [&](const SampleReport& s) { samples.push_back(s); };
    auto r = Trainer(cfg, TrainStart{dir.path(), "evals", {}, {}}, cb).run();
    ASSERT_EQ(r.stopReason, TrainStopReason::MaxSteps) << r.message;
    ASSERT_EQ(evals.size(), 2u);
    EXPECT_EQ(evals[0].step, 3);
    EXPECT_TRUE(evals[0].best);
    EXPECT_NEAR(evals[1].perplexity, std::exp(evals[1].valLoss), 1e-6 * evals[1].perplexity);
    // 300 validation tokens (5% of 6000 bytes + 1): 299 bytes and the end-of-document id.
    EXPECT_NEAR(evals[1].bitsPerByte, evals[1].valLoss / std::log(2.0) / (299.0 / 300.0), 1e-9);
    ASSERT_EQ(samples.size(), 4u);
    EXPECT_EQ(samples[1].prompt, "to be");
    EXPECT_FALSE(samples[0].text.empty());
    EXPECT_EQ(readJsonl(r.runDir / "samples.jsonl").size(), 4u);
    int evalLines = 0, trainLines = 0;
    for (auto& l : readJsonl(r.runDir / "metrics.jsonl")) {
        evalLines += l["type"] == "eval";
        trainLines += l["type"] == "train";
    }
    EXPECT_EQ(evalLines, 2);
    EXPECT_EQ(trainLines, 1);  // log_every 5 over 6 steps
    // The effective config is complete and starts the same run again.
    std::ifstream in(r.runDir / "config.json");
    auto saved = TrainConfig::fromJson(nlohmann::json::parse(in));
    EXPECT_EQ(saved.seqLen, 32);
    EXPECT_EQ(saved.model.vocabSize, 257);
    EXPECT_TRUE(fs::path(saved.data).is_absolute());
    EXPECT_FALSE(r.bestCheckpoint.empty());
}

TEST(Train, StopAtLossEndsAtTheFirstEvaluationBelowTarget) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.maxSteps = 50;
    cfg.evalEvery = 2;
    cfg.stopAtLoss = 100.0;
    auto r = Trainer(cfg, TrainStart{dir.path(), "target", {}, {}}, {}).run();
    EXPECT_EQ(r.stopReason, TrainStopReason::TargetLoss);
    EXPECT_EQ(r.steps, 2);
}

TEST(Train, BadInputEndsWithAClearFailure) {
    test::TempDir dir;
    auto cfg = test::tinyConfig(dir / "does-not-exist.txt");
    auto r = Trainer(cfg, TrainStart{dir.path(), "bad", {}, {}}, {}).run();
    EXPECT_EQ(r.stopReason, TrainStopReason::Failed);
    EXPECT_NE(r.message.find("does-not-exist.txt"), std::string::npos) << r.message;
    auto cfg2 = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg2.seqLen = 0;
    auto r2 = Trainer(cfg2, TrainStart{dir.path(), "bad2", {}, {}}, {}).run();
    EXPECT_EQ(r2.stopReason, TrainStopReason::Failed);
    EXPECT_NE(r2.message.find("seq_len"), std::string::npos) << r2.message;
}

TEST(Train, RunNamesNeverCollide) {
    test::TempDir dir;
    auto a = RunDir::create(dir.path(), "same", "mamba");
    auto b = RunDir::create(dir.path(), "same", "mamba");
    auto c = RunDir::create(dir.path(), "", "mamba");
    EXPECT_EQ(a.name(), "same");
    EXPECT_EQ(b.name(), "same-2");
    EXPECT_EQ(c.name().rfind("mamba-", 0), 0u);
    EXPECT_TRUE(fs::is_directory(b.checkpointsDir()));
    EXPECT_THROW(RunDir::create(dir.path(), "../escape", "mamba"), std::exception);
}

}  // namespace
}  // namespace mts
