// Exports: Hugging Face (Mamba round trip through our loader, GPT-2 layout for the Transformer)
// and GGUF (read back with our reader: every key and tensor).
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mts/core/formats/export.h"
#include "mts/core/formats/gguf.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/formats/safetensors.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::readJson;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using mts::test::TempDir;
namespace gguf = mts::gguf;

mts::LanguageModel exportMamba(int64_t vocab = 257, bool tied = true) {
    mts::ModelConfig c;
    c.arch = mts::Architecture::Mamba;
    c.dModel = 16;
    c.nLayer = 2;
    c.dState = 4;
    c.expand = 2;
    c.vocabSize = vocab;
    c.tieEmbeddings = tied;
    torch::manual_seed(11);
    return mts::createModel(c);
}

mts::LanguageModel tinyTransformer(const std::string& positions = "learned") {
    mts::ModelConfig c;
    c.arch = mts::Architecture::Transformer;
    c.dModel = 16;
    c.nLayer = 2;
    c.nHead = 2;
    c.maxSeqLen = 32;
    c.vocabSize = 257;
    c.positions = positions;
    torch::manual_seed(12);
    return mts::createModel(c);
}

std::map<std::string, torch::Tensor> params(mts::LanguageModelImpl& m) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& p : m.named_parameters(true)) out[p.key()] = p.value().detach();
    return out;
}

const std::string kSample = "Hello, wörld! <|endoftext|> 日本語 \xf0\x9f\x99\x82 tabs\tand  spaces\n";

}  // namespace

TEST(ExportHf, MambaRoundTripIsBitIdentical) {
    auto model = exportMamba();
    auto tok = mts::makeByteTokenizer();
    TempDir dir;
    auto r = mts::exportHuggingFace(*model, *tok, dir.path(), mts::ExportDtype::F32);
    for (auto f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"})
        EXPECT_TRUE(fs::exists(dir / f)) << f;
    EXPECT_EQ(r.files.size(), 5u);
    auto cfg = readJson(dir / "config.json");
    EXPECT_EQ(cfg["architectures"][0], "MambaForCausalLM");
    EXPECT_EQ(cfg["model_type"], "mamba");
    EXPECT_EQ(cfg["hidden_size"], 16);
    EXPECT_EQ(cfg["intermediate_size"], 32);
    EXPECT_EQ(cfg["state_size"], 4);
    EXPECT_EQ(cfg["vocab_size"], 264);  // padded: what from_pretrained allocates
    EXPECT_EQ(cfg["time_step_rank"], 1);
    EXPECT_EQ(cfg["eos_token_id"], 256);
    EXPECT_FALSE(cfg.contains("mts_config"));
    EXPECT_EQ(readJson(dir / "generation_config.json")["eos_token_id"], 256);
    EXPECT_FALSE(mts::readSafetensorsHeader(dir / "model.safetensors").count("lm_head.weight"));

    auto back = mts::loadModel(dir.path());
    EXPECT_EQ(back.layout, "hf");
    EXPECT_EQ(back.storedDtype, "F32");
    const auto& c = back.model->config();
    EXPECT_EQ(c.vocabSize, 257);  // recovered from the tokenizer
    EXPECT_EQ(c.paddedVocab(), 264);
    auto a = params(*model), b = params(*back.model);
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [k, t] : a) EXPECT_TRUE(torch::equal(t, b.at(k))) << k;
    // Same logits.
    auto ids = torch::tensor({{1, 72, 101, 256, 3}}, torch::kInt64);
    model->eval();
    EXPECT_TRUE(torch::equal(model->forward(ids), back.model->forward(ids)));
    // The byte tokenizer comes back as an equivalent byte-level BPE.
    EXPECT_EQ(back.tokenizer->kind(), "bpe");
    EXPECT_EQ(back.tokenizer->encode(kSample), tok->encode(kSample));
    EXPECT_EQ(back.tokenizer->decode(tok->encode(kSample)), kSample);
}

TEST(ExportHf, Float16StoresHalfWeights) {
    auto model = exportMamba(257, /*tied=*/false);
    auto tok = mts::makeByteTokenizer();
    TempDir dir;
    mts::exportHuggingFace(*model, *tok, dir.path(), mts::ExportDtype::F16);
    EXPECT_EQ(readJson(dir / "config.json")["torch_dtype"], "float16");
    auto st = mts::readSafetensors(dir / "model.safetensors");
    ASSERT_TRUE(st.tensors.count("lm_head.weight"));
    for (const auto& [k, t] : params(*model)) {
        ASSERT_TRUE(st.tensors.count(k)) << k;
        EXPECT_EQ(st.tensors.at(k).scalar_type(), torch::kFloat16) << k;
        EXPECT_TRUE(torch::equal(st.tensors.at(k), t.to(torch::kFloat16))) << k;
    }
    auto back = mts::loadModel(dir.path());
    EXPECT_EQ(back.storedDtype, "F16");
    EXPECT_FALSE(back.model->config().tieEmbeddings);
}

TEST(ExportHf, TransformerAsGpt2) {
    auto model = tinyTransformer();
    auto tok = mts::makeByteTokenizer();
    TempDir dir;
    mts::exportHuggingFace(*model, *tok, dir.path(), mts::ExportDtype::F32);
    auto cfg = readJson(dir / "config.json");
    EXPECT_EQ(cfg["architectures"][0], "GPT2LMHeadModel");
    EXPECT_EQ(cfg["model_type"], "gpt2");
    EXPECT_EQ(cfg["n_embd"], 16);
    EXPECT_EQ(cfg["n_layer"], 2);
    EXPECT_EQ(cfg["n_head"], 2);
    EXPECT_EQ(cfg["n_positions"], 32);
    EXPECT_EQ(cfg["n_inner"], 64);
    EXPECT_EQ(cfg["vocab_size"], 264);
    auto st = mts::readSafetensors(dir / "model.safetensors").tensors;
    auto p = params(*model);
    ASSERT_EQ(st.size(), p.size());
    // Conv1D weights are (in, out): the transpose of ours.
    EXPECT_EQ(st.at("transformer.h.0.attn.c_attn.weight").sizes(), (std::vector<int64_t>{16, 48}));
    EXPECT_TRUE(torch::equal(st.at("transformer.h.0.attn.c_attn.weight"), p.at("transformer.h.0.attn.c_attn.weight").t()));
    EXPECT_TRUE(torch::equal(st.at("transformer.h.1.mlp.c_fc.weight"), p.at("transformer.h.1.mlp.c_fc.weight").t()));
    EXPECT_TRUE(torch::equal(st.at("transformer.h.1.mlp.c_proj.weight"), p.at("transformer.h.1.mlp.c_proj.weight").t()));
    EXPECT_TRUE(torch::equal(st.at("transformer.h.1.attn.c_proj.weight"), p.at("transformer.h.1.attn.c_proj.weight").t()));
    // Everything else as is.
    EXPECT_TRUE(torch::equal(st.at("transformer.wte.weight"), p.at("transformer.wte.weight")));
    EXPECT_TRUE(torch::equal(st.at("transformer.wpe.weight"), p.at("transformer.wpe.weight")));
    EXPECT_TRUE(torch::equal(st.at("transformer.h.0.ln_1.bias"), p.at("transformer.h.0.ln_1.bias")));
    EXPECT_TRUE(fs::exists(dir / "tokenizer.json"));

    TempDir dir2;
    auto rope = tinyTransformer("rope");
    EXPECT_THROW(mts::exportHuggingFace(*rope, *tok, dir2.path(), mts::ExportDtype::F32), mts::ConfigError);
}

TEST(ExportGguf, EveryKeyAndTensorReadsBack) {
    for (auto dtype : {mts::ExportDtype::F32, mts::ExportDtype::F16}) {
        auto model = exportMamba();
        auto tok = mts::makeByteTokenizer();
        TempDir dir;
        auto out = dir / "tiny.gguf";
        mts::exportGguf(*model, *tok, out, dtype);
        auto f = gguf::readFile(out);
        const auto& c = model->config();
        const bool half = dtype == mts::ExportDtype::F16;
        auto u32 = [&](const char* k) {
            const auto* v = f.find(k);
            EXPECT_NE(v, nullptr) << k;
            EXPECT_EQ(v ? v->type : gguf::ValueType::Bool, gguf::ValueType::UInt32) << k;
            return v ? v->u : 0;
        };
        EXPECT_EQ(f.find("general.architecture")->s, "mamba");
        EXPECT_EQ(u32("general.file_type"), half ? 1u : 0u);
        EXPECT_EQ(u32("mamba.context_length"), 1u << 20);
        EXPECT_EQ(u32("mamba.embedding_length"), 16u);
        EXPECT_EQ(u32("mamba.feed_forward_length"), 0u);
        EXPECT_EQ(u32("mamba.attention.head_count"), 0u);
        EXPECT_EQ(u32("mamba.block_count"), 2u);
        EXPECT_EQ(u32("mamba.ssm.conv_kernel"), 4u);
        EXPECT_EQ(u32("mamba.ssm.inner_size"), 32u);
        EXPECT_EQ(u32("mamba.ssm.state_size"), 4u);
        EXPECT_EQ(u32("mamba.ssm.time_step_rank"), 1u);
        EXPECT_EQ(*f.find("mamba.attention.layer_norm_rms_epsilon"), gguf::Value::f32(static_cast<float>(c.normEps)));
        EXPECT_EQ(*f.find("mamba.ssm.dt_b_c_rms"), gguf::Value::boolean(false));
        EXPECT_EQ(f.find("tokenizer.ggml.model")->s, "gpt2");
        EXPECT_EQ(f.find("tokenizer.ggml.pre")->s, "gpt-2");
        EXPECT_EQ(u32("tokenizer.ggml.eos_token_id"), 256u);
        EXPECT_EQ(u32("tokenizer.ggml.bos_token_id"), 256u);
        const auto& tokens = f.find("tokenizer.ggml.tokens")->array;
        const auto& types = f.find("tokenizer.ggml.token_type")->array;
        ASSERT_EQ(tokens.size(), 264u);  // one per embedding row
        ASSERT_EQ(types.size(), 264u);
        EXPECT_EQ(tokens['A'].s, "A");
        EXPECT_EQ(tokens[' '].s, "\xc4\xa0");  // Ġ
        EXPECT_EQ(tokens['\n'].s, "\xc4\x8a");  // Ċ
        EXPECT_EQ(types['A'].i, 1);
        EXPECT_EQ(tokens[256].s, "<|endoftext|>");
        EXPECT_EQ(types[256].i, 3);
        EXPECT_EQ(tokens[257].s, "[PAD257]");
        EXPECT_EQ(types[263].i, 5);
        EXPECT_TRUE(f.find("tokenizer.ggml.merges")->array.empty());

        auto p = params(*model);
        std::map<std::string, std::pair<torch::Tensor, bool>> expected;  // name -> (value, stored as f16)
        expected["token_embd.weight"] = {p.at("backbone.embeddings.weight"), half};
        expected["output_norm.weight"] = {p.at("backbone.norm_f.weight"), false};
        for (int i = 0; i < 2; ++i) {
            const std::string s = "backbone.layers." + std::to_string(i) + ".", b = "blk." + std::to_string(i) + ".";
            expected[b + "attn_norm.weight"] = {p.at(s + "norm.weight"), false};
            expected[b + "ssm_in.weight"] = {p.at(s + "mixer.in_proj.weight"), half};
            expected[b + "ssm_conv1d.weight"] = {p.at(s + "mixer.conv1d.weight").squeeze(1), false};
            expected[b + "ssm_conv1d.bias"] = {p.at(s + "mixer.conv1d.bias"), false};
            expected[b + "ssm_x.weight"] = {p.at(s + "mixer.x_proj.weight"), false};
            expected[b + "ssm_dt.weight"] = {p.at(s + "mixer.dt_proj.weight"), false};
            expected[b + "ssm_dt.bias"] = {p.at(s + "mixer.dt_proj.bias"), false};
            expected[b + "ssm_a"] = {-torch::exp(p.at(s + "mixer.A_log")), false};
            expected[b + "ssm_d"] = {p.at(s + "mixer.D"), false};
            expected[b + "ssm_out.weight"] = {p.at(s + "mixer.out_proj.weight"), half};
        }
        ASSERT_EQ(f.tensors.size(), expected.size());  // tied: no output.weight
        for (const auto& [name, ev] : expected) {
            ASSERT_TRUE(f.tensors.count(name)) << name;
            const auto& t = f.tensors.at(name);
            EXPECT_EQ(t.scalar_type(), ev.second ? torch::kFloat16 : torch::kFloat32) << name;
            EXPECT_EQ(t.sizes(), ev.first.sizes()) << name;
            EXPECT_TRUE(torch::equal(t, ev.first.to(t.scalar_type()))) << name;
        }
        // ggml order of a 2-D tensor: ne[0] is the input dimension.
        for (const auto& ti : f.tensorInfos)
            if (ti.name == "blk.0.ssm_conv1d.weight") {
                EXPECT_EQ(ti.ne, (std::vector<int64_t>{4, 32}));
            }
    }
}

TEST(ExportGguf, UntiedHeadAndBpeTokenizer) {
    MTS_REQUIRE_SHARED(tokDir, "fixtures/tokenizer-gpt2");
    auto tok = mts::loadTokenizer(tokDir);
    auto model = exportMamba(tok->vocabSize(), /*tied=*/false);
    TempDir dir;
    mts::exportGguf(*model, *tok, dir / "bpe.gguf", mts::ExportDtype::F32);
    auto f = gguf::readFile(dir / "bpe.gguf");
    EXPECT_TRUE(torch::equal(f.tensors.at("output.weight"), params(*model).at("lm_head.weight")));
    const auto& tokens = f.find("tokenizer.ggml.tokens")->array;
    ASSERT_EQ(static_cast<int64_t>(tokens.size()), model->config().paddedVocab());
    // Every real id's text matches what the tokenizer itself saved.
    auto doc = mts::hfTokenizerJson(*tok);
    for (auto it = doc["model"]["vocab"].begin(); it != doc["model"]["vocab"].end(); ++it)
        ASSERT_EQ(tokens[it.value().get<int64_t>()].s, it.key());
    const auto& merges = f.find("tokenizer.ggml.merges")->array;
    ASSERT_EQ(merges.size(), doc["model"]["merges"].size());
    ASSERT_FALSE(merges.empty());
    const auto& m0 = doc["model"]["merges"][0];
    EXPECT_EQ(merges[0].s, m0.is_string() ? m0.get<std::string>() : m0[0].get<std::string>() + " " + m0[1].get<std::string>());
}

TEST(ExportGguf, RejectsWhatLlamaCppCannotRun) {
    auto tok = mts::makeByteTokenizer();
    TempDir dir;
    auto t = tinyTransformer();
    EXPECT_THROW(mts::exportGguf(*t, *tok, dir / "t.gguf", mts::ExportDtype::F32), mts::ConfigError);
    mts::ModelConfig c = exportMamba()->config();
    c.residualGate = true;
    auto variant = mts::createModel(c);
    EXPECT_THROW(mts::exportGguf(*variant, *tok, dir / "v.gguf", mts::ExportDtype::F32), mts::ConfigError);
    EXPECT_THROW(mts::exportHuggingFace(*variant, *tok, dir / "hf", mts::ExportDtype::F32), mts::ConfigError);
    EXPECT_FALSE(fs::exists(dir / "t.gguf"));
    EXPECT_THROW(mts::exportDtypeFromString("q4"), mts::ConfigError);
}
