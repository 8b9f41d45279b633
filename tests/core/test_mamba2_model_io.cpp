// Mamba-2 models through the model folder code: a Hugging Face export loads back bit-exact, a
// studio checkpoint too, a state-spaces (mamba_ssm) folder built here loads with its naming
// (backbone.embedding.weight, a stored tied lm_head, pytorch_model.bin, unpadded vocab_size),
// and the public GGUF export of a real model holds llama.cpp's mamba2 tensors.
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mts/core/formats/export.h"
#include "mts/core/formats/gguf.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/formats/safetensors.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/model/parameter_count.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"
#include "command_run.h"
#include "shared_data.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using mts::test::TempDir;

mts::ModelConfig tinyConfig(bool tied = true) {
    mts::ModelConfig c;
    c.arch = mts::Architecture::Mamba2;
    c.dModel = 32;
    c.nLayer = 2;
    c.vocabSize = 257;
    c.padVocabMultiple = 8;
    c.dState = 8;
    c.dConv = 4;
    c.expand = 2;
    c.headDim = 16;
    c.nGroups = 2;
    c.chunkSize = 8;
    c.tieEmbeddings = tied;
    return c;
}

mts::LanguageModel tinyModel(bool tied = true) {
    torch::manual_seed(21);
    mts::LanguageModel m = mts::createModel(tinyConfig(tied));
    // Move every parameter off its initial value so a parameter left unloaded would show.
    torch::NoGradGuard g;
    for (auto& p : m->parameters()) p.add_(torch::randn_like(p) * 0.05);
    return m;
}

std::map<std::string, torch::Tensor> paramCopies(mts::LanguageModelImpl& m) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& p : m.named_parameters(true)) out[p.key()] = p.value().detach().clone();
    return out;
}

void expectSameParameters(mts::LanguageModelImpl& got, const std::map<std::string, torch::Tensor>& want) {
    const auto g = paramCopies(got);
    ASSERT_EQ(g.size(), want.size());
    for (const auto& [k, t] : want) {
        ASSERT_TRUE(g.count(k)) << k;
        EXPECT_TRUE(torch::equal(g.at(k), t)) << k;
    }
}

torch::Tensor logitsOf(mts::LanguageModelImpl& m) {
    torch::NoGradGuard g;
    m.eval();
    const torch::Tensor ids = torch::tensor({{72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100}}, torch::kLong);
    return m.forward(ids);
}

TEST(Mamba2ModelIo, ParameterNamesAndCountAreTheHuggingFaceOnes) {
    auto m = tinyModel();
    const auto p = paramCopies(*m);
    // transformers' Mamba2ForCausalLM names (the exporter relies on them).
    for (const char* k : {"backbone.embeddings.weight", "backbone.norm_f.weight", "backbone.layers.1.norm.weight",
                          "backbone.layers.1.mixer.in_proj.weight", "backbone.layers.1.mixer.conv1d.weight",
                          "backbone.layers.1.mixer.conv1d.bias", "backbone.layers.1.mixer.dt_bias",
                          "backbone.layers.1.mixer.A_log", "backbone.layers.1.mixer.D",
                          "backbone.layers.1.mixer.norm.weight", "backbone.layers.1.mixer.out_proj.weight"})
        EXPECT_TRUE(p.count(k)) << k;
    EXPECT_EQ(p.at("backbone.layers.0.mixer.in_proj.weight").sizes(), (std::vector<int64_t>{2 * 64 + 2 * 16 + 4, 32}));
    EXPECT_EQ(p.at("backbone.layers.0.mixer.conv1d.weight").sizes(), (std::vector<int64_t>{96, 1, 4}));
    EXPECT_EQ(*mts::checkedParameterCount(tinyConfig()), m->numParameters());
    EXPECT_EQ(*mts::checkedParameterCount(tinyConfig(false)), tinyModel(false)->numParameters());
}

TEST(Mamba2ModelIo, HuggingFaceExportLoadsBackBitExact) {
    for (bool tied : {true, false}) {
        auto m = tinyModel(tied);
        const auto want = paramCopies(*m);
        const torch::Tensor logits = logitsOf(*m);
        auto tok = mts::makeByteTokenizer();
        TempDir dir;
        mts::exportHuggingFace(*m, *tok, dir.path(), mts::ExportDtype::F32);
        const json cfg = json::parse(std::ifstream(dir / "config.json"));
        EXPECT_EQ(cfg["architectures"][0], "Mamba2ForCausalLM");
        EXPECT_EQ(cfg["num_heads"], 4);
        EXPECT_FALSE(cfg.contains("mts_config"));  // a plain transformers folder
        EXPECT_EQ(mts::readSafetensors(dir / "model.safetensors").tensors.count("lm_head.weight"), tied ? 0u : 1u);

        mts::LoadedModel lm = mts::loadModel(dir.path());
        EXPECT_EQ(lm.layout, "hf");
        const mts::ModelConfig& c = lm.model->config();
        EXPECT_EQ(c.arch, mts::Architecture::Mamba2);
        EXPECT_EQ(c.headDim, 16);
        EXPECT_EQ(c.nGroups, 2);
        EXPECT_EQ(c.dState, 8);
        EXPECT_EQ(c.tieEmbeddings, tied);
        EXPECT_EQ(c.paddedVocab(), 264);
        expectSameParameters(*lm.model, want);
        EXPECT_TRUE(torch::equal(logitsOf(*lm.model), logits));
        EXPECT_EQ(lm.tokenizer->vocabSize(), 257);  // the byte tokenizer, as byte-level BPE

        // The studio's own checkpoint folder (HF config + mts_config) too.
        TempDir ck;
        mts::saveModel(ck.path(), *m, tok.get());
        mts::LoadedModel back = mts::loadModel(ck.path());
        EXPECT_EQ(back.layout, "studio");
        expectSameParameters(*back.model, want);
    }
}

TEST(Mamba2ModelIo, StateSpacesFolderLoadsWithItsNaming) {
    auto m = tinyModel();
    const auto want = paramCopies(*m);
    TempDir dir;
    // mamba_ssm's layout: unpadded vocab_size with its padding multiple, ssm_cfg, the embedding
    // under "embedding", the tied head stored as well, a torch.save zip pickle.
    json cfg = {{"d_model", 32}, {"d_intermediate", 0}, {"n_layer", 2}, {"vocab_size", 257},
                {"ssm_cfg", {{"layer", "Mamba2"}, {"d_state", 8}, {"d_conv", 4}, {"expand", 2}, {"headdim", 16},
                             {"ngroups", 2}, {"chunk_size", 8}}},
                {"attn_layer_idx", json::array()}, {"attn_cfg", json::object()}, {"rms_norm", true},
                {"residual_in_fp32", true}, {"fused_add_norm", true}, {"pad_vocab_size_multiple", 8},
                {"tie_embeddings", true}};
    std::ofstream(dir / "config.json") << cfg.dump(2);
    c10::Dict<std::string, torch::Tensor> dict;
    for (const auto& [k, t] : want)
        dict.insert(k == "backbone.embeddings.weight" ? "backbone.embedding.weight" : k, t);
    dict.insert("lm_head.weight", want.at("backbone.embeddings.weight"));
    const auto bytes = torch::pickle_save(dict);
    std::ofstream(dir / "pytorch_model.bin", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

    mts::LoadedModel lm = mts::loadModel(dir.path());
    EXPECT_EQ(lm.layout, "state-spaces");
    EXPECT_EQ(lm.model->config().arch, mts::Architecture::Mamba2);
    EXPECT_EQ(lm.model->config().vocabSize, 257);
    expectSameParameters(*lm.model, want);

    // The same folder with a wrong head size is refused naming the file and a tensor that does not fit.
    cfg["ssm_cfg"]["headdim"] = 32;
    std::ofstream(dir / "config.json") << cfg.dump(2);
    try {
        mts::loadModel(dir.path());
        FAIL() << "a config.json that does not match the weights loaded";
    } catch (const mts::FormatError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("pytorch_model.bin: tensor 'backbone.layers.0.mixer."), std::string::npos) << msg;
        EXPECT_NE(msg.find("but config.json implies"), std::string::npos) << msg;
    }
}

TEST(Mamba2ModelIo, GgufExportOfAModelHoldsTheMamba2Tensors) {
    auto m = tinyModel();
    const auto p = paramCopies(*m);
    auto tok = mts::makeByteTokenizer();
    TempDir dir;
    mts::exportGguf(*m, *tok, dir / "m.gguf", mts::ExportDtype::F32);
    const mts::gguf::File f = mts::gguf::readFile(dir / "m.gguf");
    EXPECT_EQ(f.find("general.architecture")->s, "mamba2");
    EXPECT_EQ(f.tensors.size(), 1u + 1u + 2u * 9u);
    EXPECT_TRUE(torch::equal(f.tensors.at("blk.1.ssm_a"), -torch::exp(p.at("backbone.layers.1.mixer.A_log")).reshape({4, 1})));
    EXPECT_TRUE(torch::equal(f.tensors.at("blk.0.ssm_norm.weight"), p.at("backbone.layers.0.mixer.norm.weight").reshape({2, 32})));
    EXPECT_TRUE(torch::equal(f.tensors.at("blk.0.ssm_in.weight"), p.at("backbone.layers.0.mixer.in_proj.weight")));
}

TEST(Mamba2ModelIo, CliExportsBothFormatsAndDescribesTheResult) {
    auto m = tinyModel();
    auto tok = mts::makeByteTokenizer();
    TempDir dir;
    mts::saveModel(dir / "studio", *m, tok.get());
    const std::string cli = mts::test::shellQuoted(mts::test::cliPath());
    const std::string studio = mts::test::shellQuoted((dir / "studio").string());
    auto r = mts::test::runCommand(cli + " -q export --model " + studio + " --format hf --out " +
                                   mts::test::shellQuoted((dir / "hf").string()) + " 2>&1");
    ASSERT_EQ(r.exitCode, 0) << r.out;
    r = mts::test::runCommand(cli + " info --model " + mts::test::shellQuoted((dir / "hf").string()) + " 2>&1");
    ASSERT_EQ(r.exitCode, 0) << r.out;
    EXPECT_NE(r.out.find("architecture: mamba2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("hf (Hugging Face Mamba2ForCausalLM)"), std::string::npos) << r.out;
    r = mts::test::runCommand(cli + " -q export --model " + studio + " --format gguf --dtype q8_0 --out " +
                              mts::test::shellQuoted((dir / "m.gguf").string()) + " 2>&1");
    ASSERT_EQ(r.exitCode, 0) << r.out;
    const mts::gguf::File f = mts::gguf::readFile(dir / "m.gguf");
    EXPECT_EQ(f.find("general.architecture")->s, "mamba2");
    EXPECT_EQ(f.find("general.file_type")->u, 7u);
}

}  // namespace
