// Presets (built-in, user overrides, resource lookup) and the memory estimator's arithmetic.
#include <cstdlib>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "mts/core/model/language_model.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/runtime.h"
#include "mts/core/train/memory_estimate.h"
#include "mts/core/train/presets.h"
#include "shared_data.h"

namespace mts {
namespace {

namespace fs = std::filesystem;

// Sets an environment variable for the scope of a test.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : m_name(name) {
        if (const char* old = std::getenv(name)) m_old = old, m_had = true;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (m_had)
            ::setenv(m_name, m_old.c_str(), 1);
        else
            ::unsetenv(m_name);
    }

private:
    const char* m_name;
    std::string m_old;
    bool m_had = false;
};

// OMP_NUM_THREADS (the usual knob of OpenMP programs) sets the threads when none are asked for;
// an explicit count still wins.
TEST(Runtime, OmpNumThreadsSetsTheDefaultThreads) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    RuntimeOptions o;
    o.log = false;
    {
        ScopedEnv one("OMP_NUM_THREADS", "1");
        EXPECT_EQ(defaultIntraOpThreads(), 1);
        EXPECT_EQ(initRuntime(o).intraOpThreads, 1);
        {
            ScopedEnv list("OMP_NUM_THREADS", "3,1");
            EXPECT_EQ(defaultIntraOpThreads(), 3);
        }
        {
            ScopedEnv junk("OMP_NUM_THREADS", "many");
            EXPECT_EQ(defaultIntraOpThreads(), cores);
        }
        RuntimeOptions two = o;
        two.threads = 2;
        EXPECT_EQ(initRuntime(two).intraOpThreads, 2);
    }
    const char* outer = std::getenv("OMP_NUM_THREADS");
    if (!outer) {
        EXPECT_EQ(defaultIntraOpThreads(), cores);
    }
    initRuntime(o);  // as the environment had it
}

TEST(Presets, BuiltInCatalogHasEverySizeTierAndTrainingPreset) {
    auto cat = PresetCatalog::loadFrom(test::sourceDir() / "resources" / "presets");
    for (auto name : {"tiny", "mini", "small", "medium", "large"}) {
        ASSERT_TRUE(cat.models.contains(name)) << name;
        for (auto arch : {"mamba", "transformer"}) {
            auto cfg = composeConfig(cat, PresetChoice{arch, name, "cpu", "default"});
            cfg.data = "x";
            EXPECT_NO_THROW(cfg.validate()) << name << " " << arch;
            EXPECT_EQ(toString(cfg.model.arch), arch);
        }
    }
    for (auto tier : {"cpu", "cpu-bf16", "gpu-8", "gpu-12", "gpu-16", "gpu-24", "gpu-32", "gpu-48"})
        EXPECT_TRUE(cat.memoryTiers.contains(tier)) << tier;
    for (auto t : {"default", "fast", "careful"}) EXPECT_TRUE(cat.training.contains(t)) << t;
}

TEST(Presets, MemoryTiersSetBatchPrecisionAndCheckpointing) {
    auto cat = PresetCatalog::loadFrom(test::sourceDir() / "resources" / "presets");
    auto small = composeConfig(cat, PresetChoice{"mamba", "small", "gpu-8", "default"});
    EXPECT_EQ(small.microBatch, 1);
    EXPECT_EQ(small.gradAccum, 16);
    EXPECT_EQ(small.precision, Precision::Fp16);
    EXPECT_TRUE(small.gradCheckpointing);
    auto big = composeConfig(cat, PresetChoice{"mamba", "small", "gpu-48", "fast"});
    EXPECT_EQ(big.microBatch, 16);
    EXPECT_EQ(big.gradAccum, 1);
    EXPECT_EQ(big.precision, Precision::Fp32);
    EXPECT_FALSE(big.gradCheckpointing);
    EXPECT_EQ(big.optimizer, OptimizerKind::Muon);
    EXPECT_EQ(memoryTierBytes(cat, "gpu-12"), int64_t(12) << 30);
    try {
        composeConfig(cat, PresetChoice{"mamba", "huge", "cpu", "default"});
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("huge"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("tiny"), std::string::npos);  // lists what exists
    }
}

// The machine picks its tier: the largest GPU tier that fits the card, bf16 on a CPU that has
// it natively, fp32 otherwise; "auto" composes with the running machine's.
TEST(Presets, DetectedTierFollowsTheMachine) {
    auto cat = PresetCatalog::loadFrom(test::sourceDir() / "resources" / "presets");
    EXPECT_EQ(detectMemoryTier(cat, false, 0, false), "cpu");
    EXPECT_EQ(detectMemoryTier(cat, false, 0, true), "cpu-bf16");
    EXPECT_EQ(detectMemoryTier(cat, true, int64_t(24) << 30, false), "gpu-24");
    EXPECT_EQ(detectMemoryTier(cat, true, int64_t(141) << 30, true), "gpu-48");  // the largest that fits
    EXPECT_EQ(detectMemoryTier(cat, true, int64_t(4) << 30, false), "cpu");       // no GPU tier fits 4 GB
    auto bf16 = composeConfig(cat, PresetChoice{"mamba", "tiny", "cpu-bf16", "small-data"});
    EXPECT_EQ(bf16.precision, Precision::Bf16);
    EXPECT_EQ(bf16.device, "cpu");
    // Without cpu-bf16 in the catalog a bf16 CPU falls back to "cpu".
    PresetCatalog noBf16 = cat;
    noBf16.memoryTiers.erase("cpu-bf16");
    EXPECT_EQ(detectMemoryTier(noBf16, false, 0, true), "cpu");
    const RuntimeInfo& info = runtimeInfo();
    const std::string here = detectMemoryTier(cat, info.cuda, info.deviceMemoryBytes, info.cpuBf16);
    EXPECT_EQ(composeConfig(cat, PresetChoice{"mamba", "tiny", "auto", "default"}).precision,
              composeConfig(cat, PresetChoice{"mamba", "tiny", here, "default"}).precision);
    EXPECT_EQ(memoryTierBytes(cat, "auto"), memoryTierBytes(cat, here));
}

// A training preset's batch_sequences fixes the effective batch on every tier: the tier keeps
// its micro_batch (what fits), grad_accum makes up the rest.
TEST(Presets, BatchSequencesHoldsTheEffectiveBatchOnEveryTier) {
    auto cat = PresetCatalog::loadFrom(test::sourceDir() / "resources" / "presets");
    cat.training["eight"] = nlohmann::json{{"config", {{"batch_sequences", 8}, {"lr", 1e-3}}}};
    const auto cpu = composeConfig(cat, PresetChoice{"mamba", "tiny", "cpu", "eight"});  // tier: 8 x 2
    EXPECT_EQ(cpu.microBatch, 8);
    EXPECT_EQ(cpu.gradAccum, 1);
    const auto gpu8 = composeConfig(cat, PresetChoice{"mamba", "tiny", "gpu-8", "eight"});  // tier: 1 x 16
    EXPECT_EQ(gpu8.microBatch, 1);
    EXPECT_EQ(gpu8.gradAccum, 8);
    cat.training["three"] = nlohmann::json{{"config", {{"batch_sequences", 3}}}};
    const auto three = composeConfig(cat, PresetChoice{"mamba", "tiny", "cpu", "three"});
    EXPECT_EQ(three.microBatch * three.gradAccum, 3);
    const auto plain = composeConfig(cat, PresetChoice{"mamba", "tiny", "cpu", "default"});  // no key: the tier's
    EXPECT_EQ(plain.microBatch, 8);
    EXPECT_EQ(plain.gradAccum, 2);
    cat.training["bad"] = nlohmann::json{{"config", {{"batch_sequences", 0}}}};
    EXPECT_THROW(composeConfig(cat, PresetChoice{"mamba", "tiny", "cpu", "bad"}), ConfigError);
}

// Mamba and Transformer presets of one size have about the same parameter count, at the
// byte vocabulary for the CPU sizes and a GPT-2-sized BPE vocabulary for the GPU sizes.
TEST(Presets, MambaAndTransformerSizesMatch) {
    auto cat = PresetCatalog::loadFrom(test::sourceDir() / "resources" / "presets");
    struct Expect {
        const char* name;
        int64_t vocab;
        double lo, hi;  // Mamba parameter count range
    };
    for (auto e : {Expect{"tiny", 257, 0.3e6, 1e6}, Expect{"mini", 257, 2e6, 6e6}, Expect{"small", 50280, 40e6, 60e6},
                   Expect{"medium", 50280, 110e6, 170e6}, Expect{"large", 50280, 330e6, 450e6}}) {
        auto m = composeConfig(cat, PresetChoice{"mamba", e.name, "cpu", "default"}).model;
        auto t = composeConfig(cat, PresetChoice{"transformer", e.name, "cpu", "default"}).model;
        m.vocabSize = t.vocabSize = e.vocab;
        double pm = static_cast<double>(countParameters(m)), pt = static_cast<double>(countParameters(t));
        EXPECT_GE(pm, e.lo) << e.name;
        EXPECT_LE(pm, e.hi) << e.name;
        EXPECT_NEAR(pt / pm, 1.0, 0.12) << e.name << ": mamba " << pm << " transformer " << pt;
    }
}

TEST(Presets, UserFilesOverrideAndAdd) {
    test::TempDir dir;
    fs::create_directories(dir / "mamba-studio" / "presets");
    std::ofstream(dir / "mamba-studio" / "presets" / "models.json")
        << R"({"presets": {"tiny": {"mamba": {"arch": "mamba", "d_model": 48, "n_layer": 3}},
                           "mine": {"mamba": {"arch": "mamba", "d_model": 64, "n_layer": 1}}}})";
    ScopedEnv xdg("XDG_CONFIG_HOME", dir.path().string());
    ScopedEnv res("MTS_RESOURCES_DIR", (test::sourceDir() / "resources").string());
    auto cat = PresetCatalog::load();
    EXPECT_EQ(composeConfig(cat, PresetChoice{"mamba", "tiny", "cpu", "default"}).model.dModel, 48);
    EXPECT_EQ(composeConfig(cat, PresetChoice{"mamba", "mine", "cpu", "default"}).model.nLayer, 1);
    EXPECT_TRUE(cat.models.contains("large"));  // built-ins stay
    // The user's tiny has no transformer entry any more: a clear error.
    EXPECT_THROW(composeConfig(cat, PresetChoice{"transformer", "tiny", "cpu", "default"}), ConfigError);
}

TEST(Presets, ResourceLookupAndMalformedFiles) {
    test::TempDir dir;
    fs::create_directories(dir / "presets");
    {
        ScopedEnv res("MTS_RESOURCES_DIR", dir.path().string());
        EXPECT_EQ(resourcesDir(), dir.path().lexically_normal());
    }
    std::ofstream(dir / "presets" / "training.json") << "{ not json";
    EXPECT_THROW(PresetCatalog::loadFrom(dir / "presets"), FormatError);
    std::ofstream(dir / "presets" / "training.json", std::ios::trunc) << R"({"presets": {"x": 5}})";
    EXPECT_THROW(PresetCatalog::loadFrom(dir / "presets"), FormatError);
}

TEST(MemoryEstimate, ParameterCountMatchesRealModels) {
    for (auto arch : {Architecture::Mamba, Architecture::Transformer}) {
        ModelConfig c;
        c.arch = arch;
        c.dModel = 48;
        c.nLayer = 3;
        c.dState = 8;
        c.nHead = 4;
        c.maxSeqLen = 40;
        c.vocabSize = 300;
        EXPECT_EQ(countParameters(c), createModel(c)->numParameters()) << toString(arch);
        c.tieEmbeddings = false;
        EXPECT_EQ(countParameters(c), createModel(c)->numParameters()) << toString(arch) << " untied";
    }
}

TEST(MemoryEstimate, PartsAddUpAndCheckpointingSaves) {
    auto cat = PresetCatalog::loadFrom(test::sourceDir() / "resources" / "presets");
    auto cfg = composeConfig(cat, PresetChoice{"mamba", "small", "gpu-24", "default"});
    cfg.model.vocabSize = 50280;
    auto e = estimateMemory(cfg, true, memoryTierBytes(cat, "gpu-24"));
    EXPECT_EQ(e.peakBytes,
              e.paramBytes + e.gradBytes + e.optimizerBytes + e.activationBytes + e.workspaceBytes + e.runtimeBytes);
    EXPECT_EQ(e.optimizerBytes, 2 * e.paramBytes);  // AdamW: two fp32 moments
    EXPECT_LT(e.activationBytesCheckpoint, e.activationBytesNoCheckpoint / 4);
    EXPECT_TRUE(e.fits) << e.summary();
    cfg.microBatch *= 2;
    auto e2 = estimateMemory(cfg, true);
    EXPECT_NEAR(static_cast<double>(e2.activationBytes), 2.0 * static_cast<double>(e.activationBytes),
                0.01 * static_cast<double>(e.activationBytes));
    // The large model in fp32 without checkpointing does not fit an 8 GB card.
    auto large = composeConfig(cat, PresetChoice{"mamba", "large", "gpu-48", "default"});
    large.model.vocabSize = 50280;
    EXPECT_FALSE(estimateMemory(large, true, memoryTierBytes(cat, "gpu-8")).fits);
    EXPECT_NE(estimateMemory(large, true, memoryTierBytes(cat, "gpu-8")).summary().find("does NOT fit"),
              std::string::npos);
}

}  // namespace
}  // namespace mts
