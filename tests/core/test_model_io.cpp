// Model folder loading mechanics: both published Mamba layouts, dtypes, shards, run folders,
// save/load round trips, and one malformed folder per check. (Logits parity with the reference
// lives in the model tests.)
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mts/core/formats/model_io.h"
#include "mts/core/formats/safetensors.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::readJson;
using mts::test::writeFile;
using mts::test::writeJson;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using mts::FormatError;
using mts::test::TempDir;

// Expects loadModel(dir) to throw a FormatError whose message contains every needle.
void expectLoadError(const fs::path& dir, std::initializer_list<std::string> needles) {
    try {
        mts::loadModel(dir);
        ADD_FAILURE() << "loaded, expected an error";
    } catch (const FormatError& e) {
        for (const auto& n : needles)
            EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << "'" << n << "' not in: " << e.what();
    }
}

}  // namespace

// Outside the anonymous namespace: TEST_F derives from it (and core tests build in batches).
class ModelIo : public ::testing::Test {
protected:
    void SetUp() override {
        m_fixture = mts::test::sharedPath("fixtures/mamba-tiny-hf");
        if (!fs::exists(m_fixture / "model.safetensors")) {
            if (mts::test::sharedDataRequired()) FAIL() << "shared data missing: " << m_fixture;
            GTEST_SKIP() << "shared data not present: " << m_fixture;
        }
        m_config = readJson(m_fixture / "config.json");
        m_weights = mts::readSafetensors(m_fixture / "model.safetensors").tensors;
    }

    // A copy of the fixture in a temp folder, with config and weights given.
    fs::path makeDir(const json& config, const std::map<std::string, torch::Tensor>& weights) {
        fs::path d = m_tmp / ("m" + std::to_string(m_count++));
        fs::create_directories(d);
        writeJson(d / "config.json", config);
        mts::writeSafetensors(d / "model.safetensors", weights);
        return d;
    }
    fs::path copyOfFixture() { return makeDir(m_config, m_weights); }

    json stateSpacesConfig() const {
        return json{{"d_model", m_config["hidden_size"]},
                    {"n_layer", m_config["num_hidden_layers"]},
                    {"vocab_size", m_config["vocab_size"]},
                    {"ssm_cfg", {{"d_state", m_config["state_size"]}, {"d_conv", m_config["conv_kernel"]},
                                 {"expand", m_config["expand"]}, {"dt_rank", m_config["time_step_rank"]}}},
                    {"rms_norm", true},
                    {"residual_in_fp32", true},
                    {"fused_add_norm", true},
                    {"pad_vocab_size_multiple", 8},
                    {"tie_embeddings", true}};
    }

    static void expectParamsEqual(mts::LanguageModelImpl& model, const std::map<std::string, torch::Tensor>& ref,
                                  double tol = 0.0) {
        auto params = model.named_parameters(true);
        ASSERT_GT(params.size(), 0u);
        for (const auto& p : params) {
            ASSERT_TRUE(ref.count(p.key())) << p.key();
            const auto& r = ref.at(p.key());
            ASSERT_EQ(p.value().sizes(), r.sizes()) << p.key();
            if (tol == 0.0)
                EXPECT_TRUE(torch::equal(p.value(), r.to(torch::kFloat32))) << p.key();
            else
                EXPECT_TRUE(torch::allclose(p.value(), r.to(torch::kFloat32), 0, tol)) << p.key();
        }
    }

    fs::path m_fixture;
    json m_config;
    std::map<std::string, torch::Tensor> m_weights;
    TempDir m_tmpDir;
    fs::path m_tmp = m_tmpDir.path();
    int m_count = 0;
};

TEST_F(ModelIo, LoadsHuggingFaceFixture) {
    auto lm = mts::loadModel(m_fixture);
    EXPECT_EQ(lm.layout, "hf");
    EXPECT_EQ(lm.storedDtype, "F32");
    const auto& c = lm.model->config();
    EXPECT_EQ(c.arch, mts::Architecture::Mamba);
    EXPECT_EQ(c.dModel, 64);
    EXPECT_EQ(c.nLayer, 2);
    EXPECT_EQ(c.dState, 16);
    EXPECT_EQ(c.dConv, 4);
    EXPECT_EQ(c.resolvedDtRank(), 4);
    EXPECT_EQ(c.paddedVocab(), 256);
    EXPECT_FALSE(lm.model->is_training());
    ASSERT_TRUE(lm.tokenizer);
    EXPECT_EQ(lm.tokenizer->kind(), "byte");
    expectParamsEqual(*lm.model, m_weights);
}

TEST_F(ModelIo, LoadsStateSpacesLayout) {
    auto w = m_weights;
    w["backbone.embedding.weight"] = w.at("backbone.embeddings.weight");
    w.erase("backbone.embeddings.weight");
    w.erase("lm_head.weight");
    auto dir = makeDir(stateSpacesConfig(), w);
    auto lm = mts::loadModel(dir);
    EXPECT_EQ(lm.layout, "state-spaces");
    expectParamsEqual(*lm.model, m_weights);
}

TEST_F(ModelIo, StateSpacesUnpaddedVocabMapsToPaddedEmbedding) {
    // state-spaces configs record the tokenizer's vocab (50277) and store 50280 rows.
    auto cfg = stateSpacesConfig();
    cfg["vocab_size"] = 250;
    auto w = m_weights;
    w["backbone.embedding.weight"] = w.at("backbone.embeddings.weight");
    w.erase("backbone.embeddings.weight");
    auto lm = mts::loadModel(makeDir(cfg, w));
    EXPECT_EQ(lm.model->config().vocabSize, 250);
    EXPECT_EQ(lm.model->config().paddedVocab(), 256);
}

TEST_F(ModelIo, EmbeddingRowsNotAMultipleOfThePadding) {
    auto cfg = m_config;
    cfg["vocab_size"] = 250;
    auto w = m_weights;
    w["backbone.embeddings.weight"] = w.at("backbone.embeddings.weight").slice(0, 0, 253).clone();
    w.erase("lm_head.weight");
    auto lm = mts::loadModel(makeDir(cfg, w));
    EXPECT_EQ(lm.model->config().vocabSize, 250);
    EXPECT_EQ(lm.model->config().paddedVocab(), 253);
    cfg["vocab_size"] = 260;  // more than the rows
    expectLoadError(makeDir(cfg, w), {"vocab_size 260 exceeds the 253 rows"});
}

TEST_F(ModelIo, HalfAndBFloat16WeightsLoadAsFloat32) {
    for (auto [dtype, name] : {std::pair{torch::kFloat16, "F16"}, std::pair{torch::kBFloat16, "BF16"}}) {
        std::map<std::string, torch::Tensor> w;
        for (const auto& [k, t] : m_weights) w[k] = t.to(dtype);
        auto lm = mts::loadModel(makeDir(m_config, w));
        EXPECT_EQ(lm.storedDtype, name);
        for (const auto& p : lm.model->named_parameters(true)) {
            EXPECT_EQ(p.value().scalar_type(), torch::kFloat32);
            // Exactly the stored half values, widened.
            EXPECT_TRUE(torch::equal(p.value(), w.at(p.key()).to(torch::kFloat32))) << p.key();
        }
    }
}

TEST_F(ModelIo, LoadsShardedCheckpoint) {
    fs::path d = m_tmp / "sharded";
    fs::create_directories(d);
    writeJson(d / "config.json", m_config);
    std::map<std::string, torch::Tensor> a, b;
    json map = json::object();
    for (const auto& [k, t] : m_weights) {
        bool first = k.find("layers.1") == std::string::npos;
        (first ? a : b)[k] = t;
        map[k] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    }
    mts::writeSafetensors(d / "model-00001-of-00002.safetensors", a);
    mts::writeSafetensors(d / "model-00002-of-00002.safetensors", b);
    json index{{"metadata", {{"total_size", 1}}}, {"weight_map", map}};
    writeJson(d / "model.safetensors.index.json", index);
    auto lm = mts::loadModel(d);
    expectParamsEqual(*lm.model, m_weights);
    auto info = mts::inspectModel(d);
    EXPECT_EQ(info.weightFiles.size(), 2u);

    // The index lists a key under the wrong shard.
    auto bad = index;
    bad["weight_map"]["backbone.norm_f.weight"] = "model-00002-of-00002.safetensors";
    writeJson(d / "model.safetensors.index.json", bad);
    expectLoadError(d, {"backbone.norm_f.weight", "model-00001-of-00002.safetensors"});
    // A shard that is not there.
    bad = index;
    bad["weight_map"]["backbone.norm_f.weight"] = "model-00003-of-00002.safetensors";
    writeJson(d / "model.safetensors.index.json", bad);
    expectLoadError(d, {"model.safetensors.index.json", "shard 'model-00003-of-00002.safetensors' is missing"});
    // A path escaping the folder.
    bad = index;
    bad["weight_map"]["backbone.norm_f.weight"] = "../model-00001-of-00002.safetensors";
    writeJson(d / "model.safetensors.index.json", bad);
    expectLoadError(d, {"not a plain file name"});
    // A key of a shard missing from the index.
    bad = index;
    bad["weight_map"].erase("backbone.norm_f.weight");
    writeJson(d / "model.safetensors.index.json", bad);
    expectLoadError(d, {"backbone.norm_f.weight", "not listed"});
    writeFile(d / "model.safetensors.index.json", "{\"weight_map\": [");
    expectLoadError(d, {"model.safetensors.index.json", "not valid JSON"});
}

TEST_F(ModelIo, MissingKeyIsAnError) {
    auto w = m_weights;
    w.erase("backbone.layers.1.mixer.D");
    expectLoadError(makeDir(m_config, w), {"model.safetensors", "missing tensor 'backbone.layers.1.mixer.D'"});
}

TEST_F(ModelIo, ExtraKeyIsAnError) {
    auto w = m_weights;
    w["backbone.layers.2.mixer.D"] = torch::zeros({128});
    expectLoadError(makeDir(m_config, w), {"model.safetensors", "unexpected tensor 'backbone.layers.2.mixer.D'"});
}

TEST_F(ModelIo, WrongShapeIsAnError) {
    auto w = m_weights;
    w["backbone.layers.0.mixer.A_log"] = torch::zeros({128, 8});
    expectLoadError(makeDir(m_config, w), {"model.safetensors", "backbone.layers.0.mixer.A_log", "[128, 8]", "[128, 16]"});
    // Config disagreeing with the weights: state_size 8 for 16-wide tensors.
    auto cfg = m_config;
    cfg["state_size"] = 8;
    expectLoadError(makeDir(cfg, m_weights), {"shape"});
}

TEST_F(ModelIo, IntegerWeightsAreAnError) {
    auto w = m_weights;
    w["backbone.norm_f.weight"] = torch::ones({64}, torch::kInt32);
    expectLoadError(makeDir(m_config, w), {"backbone.norm_f.weight", "integer"});
}

TEST_F(ModelIo, BadConfigIsAnError) {
    auto d = copyOfFixture();
    writeFile(d / "config.json", "{\"hidden_size\": 64,");
    expectLoadError(d, {"config.json", "not valid JSON"});
    auto cfg = m_config;
    cfg.erase("hidden_size");
    writeJson(d / "config.json", cfg);
    expectLoadError(d, {"config.json", "missing required key 'hidden_size'"});
    cfg = m_config;
    cfg["num_hidden_layers"] = "two";
    writeJson(d / "config.json", cfg);
    expectLoadError(d, {"'num_hidden_layers' must be an integer"});
    cfg = m_config;
    cfg["hidden_size"] = -64;
    writeJson(d / "config.json", cfg);
    expectLoadError(d, {"config.json"});
    writeJson(d / "config.json", json{{"foo", 1}});
    expectLoadError(d, {"neither"});
    auto ss = stateSpacesConfig();
    ss["ssm_cfg"]["layer"] = "Mamba3";  // Mamba1 and Mamba2 are read
    writeJson(d / "config.json", ss);
    expectLoadError(d, {"Mamba3"});
    writeJson(d / "config.json", json{{"mts_config", {{"arch", "rnn"}}}});
    expectLoadError(d, {"mts_config", "rnn"});
}

TEST_F(ModelIo, TruncatedWeightsAreAnError) {
    auto d = copyOfFixture();
    auto size = fs::file_size(d / "model.safetensors");
    fs::resize_file(d / "model.safetensors", size - 100);
    expectLoadError(d, {"model.safetensors"});
}

TEST_F(ModelIo, PytorchBinOnly) {
    auto d = m_tmp / "bin";
    fs::create_directories(d);
    writeJson(d / "config.json", m_config);
    writeFile(d / "pytorch_model.bin", "PK\x03\x04 this is not a real pickle");
    expectLoadError(d, {"pytorch_model.bin", "convert it to safetensors"});
    // A zip pickle LibTorch can read (what torch.save writes) loads.
    c10::Dict<std::string, torch::Tensor> dict;
    for (const auto& [k, t] : m_weights) dict.insert(k, t);
    auto bytes = torch::pickle_save(dict);
    std::ofstream(d / "pytorch_model.bin", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    auto lm = mts::loadModel(d);
    expectParamsEqual(*lm.model, m_weights);
}

TEST_F(ModelIo, NoWeightsIsAnError) {
    auto d = m_tmp / "empty";
    fs::create_directories(d);
    writeJson(d / "config.json", m_config);
    expectLoadError(d, {"no weights"});
}

TEST_F(ModelIo, SaveLoadRoundTripIsBitIdentical) {
    auto lm = mts::loadModel(m_fixture);
    auto out = m_tmp / "saved";
    mts::saveModel(out, *lm.model, lm.tokenizer.get());
    auto cfg = readJson(out / "config.json");
    EXPECT_EQ(cfg["architectures"][0], "MambaForCausalLM");
    EXPECT_EQ(cfg["hidden_size"], 64);
    EXPECT_TRUE(cfg.contains("mts_config"));
    // The tied head is not stored twice.
    EXPECT_FALSE(mts::readSafetensorsHeader(out / "model.safetensors").count("lm_head.weight"));
    auto back = mts::loadModel(out);
    EXPECT_EQ(back.layout, "studio");
    EXPECT_EQ(back.tokenizer->kind(), lm.tokenizer->kind());
    std::map<std::string, torch::Tensor> ref;
    for (const auto& p : lm.model->named_parameters(true)) ref[p.key()] = p.value();
    expectParamsEqual(*back.model, ref);
    // Without mts_config the same folder reads as a plain Hugging Face one.
    cfg.erase("mts_config");
    writeJson(out / "config.json", cfg);
    auto hf = mts::loadModel(out);
    EXPECT_EQ(hf.layout, "hf");
    expectParamsEqual(*hf.model, ref);
}

TEST_F(ModelIo, ResolvesRunFolders) {
    auto run = m_tmp / "run";
    fs::create_directories(run / "checkpoints");
    writeJson(run / "config.json", json{{"train", true}});  // a run's TrainConfig, not a model
    EXPECT_THROW(mts::resolveModelDir(run), FormatError);
    for (auto name : {"step-00000010", "step-00000200", "step-00000030"}) {
        fs::create_directories(run / "checkpoints" / name);
        writeJson(run / "checkpoints" / name / "config.json", m_config);
    }
    fs::create_directories(run / "checkpoints" / "step-00000900");  // incomplete: no config.json
    EXPECT_EQ(mts::resolveModelDir(run), run / "checkpoints" / "step-00000200");
    writeFile(run / "checkpoints" / "latest.txt", "step-00000030\n");
    EXPECT_EQ(mts::resolveModelDir(run), run / "checkpoints" / "step-00000030");
    writeFile(run / "checkpoints" / "latest.txt", "step-00000900\n");
    EXPECT_THROW(mts::resolveModelDir(run), FormatError);
    // A checkpoint folder, or its config.json, is taken as is.
    EXPECT_EQ(mts::resolveModelDir(run / "checkpoints" / "step-00000010"), run / "checkpoints" / "step-00000010");
    EXPECT_EQ(mts::resolveModelDir(m_fixture / "config.json"), m_fixture);
    EXPECT_THROW(mts::resolveModelDir(m_tmp / "does-not-exist"), FormatError);
    EXPECT_THROW(mts::resolveModelDir(m_tmp), FormatError);
}

TEST_F(ModelIo, InspectReadsHeadersOnly) {
    auto info = mts::inspectModel(m_fixture);
    EXPECT_EQ(info.layout, "hf");
    EXPECT_EQ(info.storedDtype, "F32");
    int64_t expected = 0;
    for (const auto& [k, t] : m_weights)
        if (k != "lm_head.weight") expected += t.numel();
    EXPECT_EQ(info.numParameters, expected);
    auto lm = mts::loadModel(m_fixture);
    EXPECT_EQ(info.numParameters, lm.model->numParameters());
    EXPECT_EQ(info.tokenizerSource, "none (byte tokenizer)");
}

TEST(ModelIoStudio, TransformerSavesAndLoads) {
    mts::ModelConfig c;
    c.arch = mts::Architecture::Transformer;
    c.dModel = 32;
    c.nLayer = 2;
    c.nHead = 4;
    c.maxSeqLen = 64;
    c.vocabSize = 257;
    torch::manual_seed(3);
    auto model = mts::createModel(c);
    TempDir dir;
    auto tok = mts::makeByteTokenizer();
    mts::saveModel(dir.path(), *model, tok.get());
    auto back = mts::loadModel(dir.path());
    EXPECT_EQ(back.layout, "studio");
    EXPECT_EQ(back.model->config().arch, mts::Architecture::Transformer);
    auto a = model->named_parameters(true);
    auto b = back.model->named_parameters(true);
    ASSERT_EQ(a.size(), b.size());
    for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
}

TEST_F(ModelIo, TokenizerLargerThanTheEmbeddingIsAnError) {
    MTS_REQUIRE_SHARED(tokDir, "fixtures/tokenizer-gpt2");
    auto d = copyOfFixture();
    fs::copy_file(tokDir / "vocab.json", d / "vocab.json");
    fs::copy_file(tokDir / "merges.txt", d / "merges.txt");
    expectLoadError(d, {"config.json", "the tokenizer has 50257 ids but the model's embedding only 256 rows"});
    // The default byte tokenizer (257 ids, one more than the fixture's rows) is tolerated.
    fs::remove(d / "vocab.json");
    EXPECT_NO_THROW(mts::loadModel(d));
}
