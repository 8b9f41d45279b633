// GGUF export for llama.cpp's "mamba2" architecture: every metadata key, tensor name, ggml
// shape (ne order) and value of a tiny Mamba-2, read back with our GGUF reader; refusals.
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "formats/export_gguf_internal.h"
#include "mts/core/formats/gguf.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"
#include "shared_data.h"

namespace {

namespace gguf = mts::gguf;
using mts::test::TempDir;

// d_model 32, d_inner 64, 4 heads of 16, 2 groups, state 8, kernel 4, 2 layers, 257 -> 264 rows.
mts::ModelConfig tinyGgufConfig(bool tied = true) {
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
    c.chunkSize = 16;
    c.normEps = 1e-6;
    c.tieEmbeddings = tied;
    return c;
}

// Parameters under our (= transformers' Mamba2ForCausalLM) names, random values.
std::map<std::string, torch::Tensor> tinyParams(const mts::ModelConfig& c) {
    torch::manual_seed(5);
    const int64_t d = c.dModel, di = c.dInner(), h = c.dInner() / c.headDim, gn = c.nGroups * c.dState;
    const int64_t convDim = di + 2 * gn;
    std::map<std::string, torch::Tensor> p;
    p["backbone.embeddings.weight"] = torch::randn({c.paddedVocab(), d});
    p["backbone.norm_f.weight"] = torch::rand({d}) + 0.5;
    for (int64_t i = 0; i < c.nLayer; ++i) {
        const std::string s = "backbone.layers." + std::to_string(i) + ".";
        p[s + "norm.weight"] = torch::rand({d}) + 0.5;
        p[s + "mixer.in_proj.weight"] = torch::randn({2 * di + 2 * gn + h, d}) * 0.1;
        p[s + "mixer.conv1d.weight"] = torch::randn({convDim, 1, c.dConv}) * 0.3;
        p[s + "mixer.conv1d.bias"] = torch::randn({convDim}) * 0.1;
        p[s + "mixer.dt_bias"] = torch::randn({h});
        p[s + "mixer.A_log"] = torch::log(torch::arange(1, h + 1, torch::kFloat32));
        p[s + "mixer.D"] = torch::rand({h}) + 0.5;
        p[s + "mixer.norm.weight"] = torch::rand({di}) + 0.5;
        p[s + "mixer.out_proj.weight"] = torch::randn({d, di}) * 0.1;
    }
    if (!c.tieEmbeddings) p["lm_head.weight"] = torch::randn({c.paddedVocab(), d});
    return p;
}

uint64_t u32(const gguf::File& f, const std::string& key) {
    const gguf::Value* v = f.find(key);
    EXPECT_NE(v, nullptr) << key;
    if (!v) return 0;
    EXPECT_EQ(v->type, gguf::ValueType::UInt32) << key;
    return v->u;
}

std::vector<int64_t> neOf(const gguf::File& f, const std::string& name) {
    for (const auto& ti : f.tensorInfos)
        if (ti.name == name) return ti.ne;
    ADD_FAILURE() << "no tensor " << name;
    return {};
}

TEST(Mamba2Gguf, EveryKeyTensorAndShapeReadsBack) {
    const mts::ModelConfig c = tinyGgufConfig();
    const auto p = tinyParams(c);
    auto tok = mts::makeByteTokenizer();
    for (auto dtype : {mts::ExportDtype::F32, mts::ExportDtype::F16, mts::ExportDtype::Q8_0}) {
        TempDir dir;
        const auto out = dir / "tiny-mamba2.gguf";
        const mts::ExportResult r = mts::detail::exportGgufMamba2(c, p, *tok, out, dtype);
        ASSERT_EQ(r.files.size(), 1u);
        EXPECT_TRUE(r.warnings.empty());  // every large row is 32 or 64 wide
        const gguf::File f = gguf::readFile(out);

        EXPECT_EQ(f.find("general.architecture")->s, "mamba2");
        EXPECT_EQ(f.find("general.name")->s, "tiny-mamba2");
        EXPECT_EQ(u32(f, "general.file_type"),
                  dtype == mts::ExportDtype::F32 ? 0u : dtype == mts::ExportDtype::F16 ? 1u : 7u);
        EXPECT_EQ(u32(f, "mamba2.context_length"), 1u << 20);
        EXPECT_EQ(u32(f, "mamba2.embedding_length"), 32u);
        EXPECT_EQ(u32(f, "mamba2.feed_forward_length"), 0u);
        EXPECT_EQ(u32(f, "mamba2.attention.head_count"), 0u);
        EXPECT_EQ(u32(f, "mamba2.block_count"), 2u);
        EXPECT_EQ(u32(f, "mamba2.ssm.conv_kernel"), 4u);
        EXPECT_EQ(u32(f, "mamba2.ssm.inner_size"), 64u);
        EXPECT_EQ(u32(f, "mamba2.ssm.state_size"), 8u);
        EXPECT_EQ(u32(f, "mamba2.ssm.time_step_rank"), 4u);  // the head count
        EXPECT_EQ(u32(f, "mamba2.ssm.group_count"), 2u);
        EXPECT_EQ(*f.find("mamba2.attention.layer_norm_rms_epsilon"), gguf::Value::f32(1e-6f));
        EXPECT_EQ(f.find("tokenizer.ggml.model")->s, "gpt2");
        EXPECT_EQ(f.find("tokenizer.ggml.tokens")->array.size(), 264u);  // one per embedding row
        EXPECT_EQ(u32(f, "tokenizer.ggml.eos_token_id"), 256u);

        // ggml shapes (ne[0] first) exactly as llama.cpp's mamba2 loader creates them.
        EXPECT_EQ(neOf(f, "token_embd.weight"), (std::vector<int64_t>{32, 264}));
        EXPECT_EQ(neOf(f, "output_norm.weight"), (std::vector<int64_t>{32}));
        EXPECT_EQ(neOf(f, "blk.1.attn_norm.weight"), (std::vector<int64_t>{32}));
        EXPECT_EQ(neOf(f, "blk.1.ssm_in.weight"), (std::vector<int64_t>{32, 2 * 64 + 2 * 2 * 8 + 4}));
        EXPECT_EQ(neOf(f, "blk.1.ssm_conv1d.weight"), (std::vector<int64_t>{4, 64 + 2 * 2 * 8}));
        EXPECT_EQ(neOf(f, "blk.1.ssm_conv1d.bias"), (std::vector<int64_t>{96}));
        EXPECT_EQ(neOf(f, "blk.1.ssm_dt.bias"), (std::vector<int64_t>{4}));
        EXPECT_EQ(neOf(f, "blk.1.ssm_a"), (std::vector<int64_t>{1, 4}));
        EXPECT_EQ(neOf(f, "blk.1.ssm_d"), (std::vector<int64_t>{1, 4}));
        EXPECT_EQ(neOf(f, "blk.1.ssm_norm.weight"), (std::vector<int64_t>{32, 2}));  // {d_inner / G, G}
        EXPECT_EQ(neOf(f, "blk.1.ssm_out.weight"), (std::vector<int64_t>{64, 32}));

        // name -> (expected value, stored as a large matrix)
        std::map<std::string, std::pair<torch::Tensor, bool>> expected;
        expected["token_embd.weight"] = {p.at("backbone.embeddings.weight"), true};
        expected["output_norm.weight"] = {p.at("backbone.norm_f.weight"), false};
        for (int i = 0; i < 2; ++i) {
            const std::string s = "backbone.layers." + std::to_string(i) + ".", b = "blk." + std::to_string(i) + ".";
            expected[b + "attn_norm.weight"] = {p.at(s + "norm.weight"), false};
            expected[b + "ssm_in.weight"] = {p.at(s + "mixer.in_proj.weight"), true};
            expected[b + "ssm_conv1d.weight"] = {p.at(s + "mixer.conv1d.weight").squeeze(1), false};
            expected[b + "ssm_conv1d.bias"] = {p.at(s + "mixer.conv1d.bias"), false};
            expected[b + "ssm_dt.bias"] = {p.at(s + "mixer.dt_bias"), false};
            expected[b + "ssm_a"] = {-torch::exp(p.at(s + "mixer.A_log")).reshape({4, 1}), false};
            expected[b + "ssm_d"] = {p.at(s + "mixer.D").reshape({4, 1}), false};
            expected[b + "ssm_norm.weight"] = {p.at(s + "mixer.norm.weight").reshape({2, 32}), false};
            expected[b + "ssm_out.weight"] = {p.at(s + "mixer.out_proj.weight"), true};
        }
        ASSERT_EQ(f.tensors.size(), expected.size());  // tied: no output.weight
        for (const auto& [name, ev] : expected) {
            ASSERT_TRUE(f.tensors.count(name)) << name;
            const torch::Tensor& t = f.tensors.at(name);
            ASSERT_EQ(t.sizes(), ev.first.sizes()) << name;
            if (!ev.second || dtype == mts::ExportDtype::F32) {
                EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;
                EXPECT_TRUE(torch::equal(t, ev.first)) << name;
            } else if (dtype == mts::ExportDtype::F16) {
                EXPECT_EQ(t.scalar_type(), torch::kFloat16) << name;
                EXPECT_TRUE(torch::equal(t, ev.first.to(torch::kFloat16))) << name;
            } else {
                // Q8_0 (read back dequantized): within half a step of each 32-value block's scale.
                const double maxAbs = ev.first.abs().max().item<double>();
                EXPECT_LE((t - ev.first).abs().max().item<double>(), maxAbs / 127.0 * 0.5 + 2e-3 * maxAbs) << name;
            }
        }
    }
}

TEST(Mamba2Gguf, UntiedHeadIsWrittenAsOutput) {
    const mts::ModelConfig c = tinyGgufConfig(/*tied=*/false);
    const auto p = tinyParams(c);
    auto tok = mts::makeByteTokenizer();
    TempDir dir;
    mts::detail::exportGgufMamba2(c, p, *tok, dir / "m.gguf", mts::ExportDtype::F32);
    const gguf::File f = gguf::readFile(dir / "m.gguf");
    ASSERT_TRUE(f.tensors.count("output.weight"));
    EXPECT_TRUE(torch::equal(f.tensors.at("output.weight"), p.at("lm_head.weight")));
    EXPECT_EQ(neOf(f, "output.weight"), (std::vector<int64_t>{32, 264}));
}

TEST(Mamba2Gguf, RefusesWhatLlamaCppCannotRunAndMisshapenParameters) {
    auto tok = mts::makeByteTokenizer();
    TempDir dir;
    auto message = [&](const mts::ModelConfig& c, const std::map<std::string, torch::Tensor>& p) -> std::string {
        try {
            mts::detail::exportGgufMamba2(c, p, *tok, dir / "bad.gguf", mts::ExportDtype::F32);
        } catch (const mts::ConfigError& e) {
            return e.what();
        }
        return "";
    };
    mts::ModelConfig c = tinyGgufConfig();
    auto p = tinyParams(c);
    c.projBias = true;
    EXPECT_NE(message(c, p).find("proj_bias"), std::string::npos) << message(c, p);
    c = tinyGgufConfig();
    auto bad = p;
    bad["backbone.layers.1.mixer.in_proj.weight"] = torch::zeros({163, 32});
    EXPECT_NE(message(c, bad).find("backbone.layers.1.mixer.in_proj.weight: shape [163, 32] but the Mamba-2 config "
                                   "implies [164, 32]"),
              std::string::npos)
        << message(c, bad);
    bad = p;
    bad.erase("backbone.layers.0.mixer.norm.weight");
    EXPECT_NE(message(c, bad).find("backbone.layers.0.mixer.norm.weight"), std::string::npos);
    mts::ModelConfig mamba1;
    EXPECT_NE(message(mamba1, p).find("Mamba-2"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(dir / "bad.gguf"));  // nothing half-written
}

}  // namespace
