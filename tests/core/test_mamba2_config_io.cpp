// Mamba-2 config.json in both published layouts: transformers' Mamba2ForCausalLM ("hf") and
// state-spaces' mamba_ssm (ssm_cfg.layer "Mamba2"), read and written; inconsistent or
// unsupported configs refused with errors that name the file and the key.
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "formats/config_reader.h"
#include "mts/core/formats/hf_config.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/formats/safetensors.h"
#include "mts/core/model/parameter_count.h"
#include "mts/core/runtime/errors.h"
#include "shared_data.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using mts::test::TempDir;

// transformers' config.json for a 130M Mamba-2 as its converter writes it (Python's json:
// time_step_limit holds the non-standard Infinity).
const char kHfConfigText[] = R"({
  "architectures": ["Mamba2ForCausalLM"],
  "bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 0,
  "chunk_size": 256, "conv_kernel": 4, "expand": 2, "head_dim": 64, "hidden_act": "silu",
  "hidden_size": 768, "initializer_range": 0.1, "layer_norm_epsilon": 1e-05,
  "model_type": "mamba2", "n_groups": 1, "num_heads": 24, "num_hidden_layers": 24,
  "rescale_prenorm_residual": false, "residual_in_fp32": true, "rms_norm": true,
  "state_size": 128, "tie_word_embeddings": true, "time_step_floor": 0.0001,
  "time_step_limit": [0.0, Infinity], "time_step_max": 0.1, "time_step_min": 0.001,
  "time_step_rank": 48, "torch_dtype": "float32", "use_bias": false, "use_cache": true,
  "use_conv_bias": true, "vocab_size": 50288
})";

// state-spaces/mamba2-130m's config.json: ssm_cfg names only the layer, the rest are
// mamba_ssm's Mamba2 defaults.
const json kStateSpaces130m = json::parse(R"({
  "d_model": 768, "d_intermediate": 0, "n_layer": 24, "vocab_size": 50277,
  "ssm_cfg": {"layer": "Mamba2"}, "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": true,
  "residual_in_fp32": true, "fused_add_norm": true, "pad_vocab_size_multiple": 16,
  "tie_embeddings": true
})");

mts::CheckpointConfig parse(const json& j) { return mts::parseCheckpointConfig(j, "/models/m2/config.json"); }

// The FormatError message of parsing j, or "" when it parses.
std::string refusal(const json& j) {
    try {
        parse(j);
    } catch (const mts::FormatError& e) {
        return e.what();
    }
    return "";
}

json hfSmall() {
    json j = json::parse(R"({"model_type": "mamba2", "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 260,
                             "expand": 2, "head_dim": 16, "num_heads": 8, "n_groups": 2, "state_size": 8,
                             "conv_kernel": 4, "chunk_size": 32})");
    return j;
}

TEST(Mamba2ConfigIo, ReadsTransformersLayoutWithPythonInfinity) {
    TempDir dir;
    std::ofstream(dir / "config.json") << kHfConfigText;
    const mts::CheckpointConfig cc = mts::readCheckpointConfig(dir / "config.json");
    const mts::ModelConfig& c = cc.config;
    EXPECT_EQ(cc.layout, "hf");
    EXPECT_EQ(c.arch, mts::Architecture::Mamba2);
    EXPECT_EQ(c.dModel, 768);
    EXPECT_EQ(c.nLayer, 24);
    EXPECT_EQ(c.vocabSize, 50288);
    EXPECT_EQ(c.dState, 128);
    EXPECT_EQ(c.dConv, 4);
    EXPECT_EQ(c.expand, 2);
    EXPECT_EQ(c.headDim, 64);
    EXPECT_EQ(c.dInner() / c.headDim, 24);
    EXPECT_EQ(c.nGroups, 1);
    EXPECT_EQ(c.chunkSize, 256);
    EXPECT_TRUE(c.tieEmbeddings);
    EXPECT_TRUE(c.convBias);
    EXPECT_FALSE(c.projBias);
    EXPECT_DOUBLE_EQ(c.normEps, 1e-5);
    EXPECT_DOUBLE_EQ(c.dtMin, 1e-3);
    EXPECT_DOUBLE_EQ(c.dtMax, 0.1);
    EXPECT_DOUBLE_EQ(c.dtInitFloor, 1e-4);
}

TEST(Mamba2ConfigIo, MissingKeysTakeTransformersDefaults) {
    // Mamba2Config's own defaults: n_groups 8, tie_word_embeddings false, state_size 128.
    const mts::ModelConfig c =
        parse(json::parse(R"({"model_type": "mamba2", "hidden_size": 1024, "num_hidden_layers": 2, "vocab_size": 300})"))
            .config;
    EXPECT_EQ(c.nGroups, 8);
    EXPECT_EQ(c.headDim, 64);
    EXPECT_EQ(c.dInner() / c.headDim, 32);
    EXPECT_EQ(c.dState, 128);
    EXPECT_FALSE(c.tieEmbeddings);
    // Without model_type, the architectures list decides.
    json j = hfSmall();
    j.erase("model_type");
    j["architectures"] = {"Mamba2ForCausalLM"};
    EXPECT_EQ(parse(j).config.arch, mts::Architecture::Mamba2);
}

TEST(Mamba2ConfigIo, ReadsStateSpacesLayout) {
    const mts::CheckpointConfig cc = parse(kStateSpaces130m);
    const mts::ModelConfig& c = cc.config;
    EXPECT_EQ(cc.layout, "state-spaces");
    EXPECT_EQ(c.arch, mts::Architecture::Mamba2);
    EXPECT_EQ(c.dModel, 768);
    EXPECT_EQ(c.nLayer, 24);
    EXPECT_EQ(c.vocabSize, 50277);
    EXPECT_EQ(c.padVocabMultiple, 16);
    EXPECT_EQ(c.paddedVocab(), 50288);
    EXPECT_EQ(c.dState, 128);
    EXPECT_EQ(c.dConv, 4);
    EXPECT_EQ(c.expand, 2);
    EXPECT_EQ(c.headDim, 64);
    EXPECT_EQ(c.dInner() / c.headDim, 24);
    EXPECT_EQ(c.nGroups, 1);
    EXPECT_EQ(c.chunkSize, 256);
    EXPECT_TRUE(c.tieEmbeddings);
    EXPECT_TRUE(c.convBias);
    EXPECT_FALSE(c.projBias);

    json j = kStateSpaces130m;
    j["d_model"] = 64;
    j["ssm_cfg"] = json::parse(R"({"layer": "Mamba2", "d_state": 8, "d_conv": 3, "expand": 2, "headdim": 16,
                                   "ngroups": 2, "chunk_size": 64, "dt_min": 0.002, "dt_max": 0.2,
                                   "dt_init_floor": 0.001, "dt_limit": [0.0, "Infinity"], "bias": false,
                                   "conv_bias": false, "rmsnorm": true, "norm_before_gate": false,
                                   "D_has_hdim": false, "d_ssm": 128, "A_init_range": [1, 16],
                                   "conv_init": null, "use_mem_eff_path": true})");
    const mts::ModelConfig s = parse(j).config;
    EXPECT_EQ(s.dState, 8);
    EXPECT_EQ(s.dConv, 3);
    EXPECT_EQ(s.headDim, 16);
    EXPECT_EQ(s.dInner() / s.headDim, 8);
    EXPECT_EQ(s.nGroups, 2);
    EXPECT_EQ(s.chunkSize, 64);
    EXPECT_DOUBLE_EQ(s.dtMin, 0.002);
    EXPECT_DOUBLE_EQ(s.dtMax, 0.2);
    EXPECT_DOUBLE_EQ(s.dtInitFloor, 0.001);
    EXPECT_FALSE(s.convBias);
}

TEST(Mamba2ConfigIo, WrittenHfConfigReadsBackTheSameModel) {
    mts::ModelConfig c;
    c.arch = mts::Architecture::Mamba2;
    c.dModel = 96;
    c.nLayer = 3;
    c.vocabSize = 257;
    c.padVocabMultiple = 16;
    c.dState = 16;
    c.dConv = 4;
    c.expand = 2;
    c.headDim = 24;
    c.nGroups = 2;
    c.chunkSize = 64;
    c.normEps = 1e-6;
    c.tieEmbeddings = false;
    c.convBias = true;
    c.dtMin = 0.002;
    const json j = mts::toHfMamba2Config(c, mts::SpecialIds{std::nullopt, 256, std::nullopt});
    EXPECT_EQ(j["architectures"][0], "Mamba2ForCausalLM");
    EXPECT_EQ(j["model_type"], "mamba2");
    EXPECT_EQ(j["vocab_size"], 272);  // the padded embedding rows: what from_pretrained allocates
    EXPECT_EQ(j["num_heads"], 8);
    EXPECT_EQ(j["head_dim"], 24);
    EXPECT_EQ(j["n_groups"], 2);
    EXPECT_EQ(j["eos_token_id"], 256);
    EXPECT_EQ(j["bos_token_id"], 256);
    EXPECT_FALSE(j.contains("time_step_limit"));  // its default; JSON cannot hold inf
    // Through text, as a file would be.
    const mts::ModelConfig back = parse(json::parse(j.dump(2))).config;
    EXPECT_EQ(back.arch, mts::Architecture::Mamba2);
    EXPECT_EQ(back.dModel, c.dModel);
    EXPECT_EQ(back.nLayer, c.nLayer);
    EXPECT_EQ(back.paddedVocab(), c.paddedVocab());
    EXPECT_EQ(back.dState, c.dState);
    EXPECT_EQ(back.dConv, c.dConv);
    EXPECT_EQ(back.expand, c.expand);
    EXPECT_EQ(back.headDim, c.headDim);
    EXPECT_EQ(back.nGroups, c.nGroups);
    EXPECT_EQ(back.chunkSize, c.chunkSize);
    EXPECT_EQ(back.tieEmbeddings, c.tieEmbeddings);
    EXPECT_EQ(back.convBias, c.convBias);
    EXPECT_EQ(back.projBias, c.projBias);
    EXPECT_DOUBLE_EQ(back.normEps, c.normEps);
    EXPECT_DOUBLE_EQ(back.dtMin, c.dtMin);
    EXPECT_DOUBLE_EQ(back.dtMax, c.dtMax);

    mts::ModelConfig mamba1;
    EXPECT_THROW(mts::toHfMamba2Config(mamba1), mts::ConfigError);
}

TEST(Mamba2ConfigIo, RefusesInconsistentAndUnsupportedConfigs) {
    auto expectRefused = [](const json& j, const std::string& needle) {
        const std::string msg = refusal(j);
        EXPECT_NE(msg.find("/models/m2/config.json"), std::string::npos) << msg;
        EXPECT_NE(msg.find(needle), std::string::npos) << "expected '" << needle << "' in: " << msg;
    };
    EXPECT_EQ(refusal(hfSmall()), "");
    json j = hfSmall();
    j["num_heads"] = 6;  // expand * hidden_size / head_dim = 8
    expectRefused(j, "num_heads = 6 but expand * hidden_size / head_dim = 2 * 64 / 16 = 8");
    j = hfSmall();
    j["head_dim"] = 48;
    j.erase("num_heads");
    expectRefused(j, "head_dim = 48 does not divide expand * hidden_size = 128");
    j = hfSmall();
    j["n_groups"] = 3;
    expectRefused(j, "n_groups = 3 does not divide num_heads = 8");
    j = hfSmall();
    j["intermediate_size"] = 96;
    expectRefused(j, "intermediate_size");
    j = hfSmall();
    j["hidden_size"] = int64_t{1} << 40;
    expectRefused(j, "hidden_size = 1099511627776 is implausibly large");
    j = hfSmall();
    j["state_size"] = int64_t{1} << 30;
    expectRefused(j, "state_size");
    j = hfSmall();
    j["n_groups"] = 0;
    expectRefused(j, "n_groups must be > 0");
    j = hfSmall();
    j["rms_norm"] = false;
    expectRefused(j, "rms_norm");
    j = hfSmall();
    j["norm_before_gate"] = true;
    expectRefused(j, "norm_before_gate");
    j = hfSmall();
    j["time_step_limit"] = {0.0, 0.5};
    expectRefused(j, "time_step_limit");
    j = hfSmall();
    j["hidden_act"] = "gelu";
    expectRefused(j, "hidden_act");
    j = hfSmall();
    j["head_dim"] = "64";
    expectRefused(j, "'head_dim' must be an integer");
    j = hfSmall();
    j["model_type"] = "mamba3";
    expectRefused(j, "model_type \"mamba3\" is not supported");

    auto ss = [](const char* key, const json& v) {
        json j = kStateSpaces130m;
        j["ssm_cfg"][key] = v;
        return j;
    };
    expectRefused(ss("headdim", 100), "ssm_cfg.headdim = 100 does not divide expand * d_model = 1536");
    expectRefused(ss("ngroups", 5), "ssm_cfg.ngroups = 5 does not divide the 24 heads");
    expectRefused(ss("d_ssm", 1024), "ssm_cfg.d_ssm");
    expectRefused(ss("D_has_hdim", true), "ssm_cfg.D_has_hdim");
    expectRefused(ss("rmsnorm", false), "ssm_cfg.rmsnorm");
    expectRefused(ss("norm_before_gate", true), "ssm_cfg.norm_before_gate");
    expectRefused(ss("dt_limit", json::array({0.001, 0.1})), "ssm_cfg.dt_limit");
    expectRefused(ss("d_state", int64_t{1} << 26), "ssm_cfg.d_state = 67108864 is implausibly large");
    expectRefused(ss("layer", "Mamba3"), "ssm_cfg.layer 'Mamba3' is not supported");
}

TEST(Mamba2ConfigIo, PythonConstantsAreQuotedOutsideStringsOnly) {
    using mts::detail::quotePythonJsonConstants;
    EXPECT_EQ(quotePythonJsonConstants(R"({"a": [0.0, Infinity], "b": -Infinity, "c": NaN})"),
              R"({"a": [0.0, "Infinity"], "b": "-Infinity", "c": "NaN"})");
    // Inside strings (escaped quotes included) nothing changes.
    const std::string s = R"({"name": "Infinity \" NaN", "x": 1})";
    EXPECT_EQ(quotePythonJsonConstants(s), s);
    // A non-number where a number belongs is still an error naming the key.
    json j = hfSmall();
    j["time_step_limit"] = {0.0, "NaN"};
    EXPECT_NE(refusal(j).find("'time_step_limit' must be a list of two numbers"), std::string::npos) << refusal(j);
}

TEST(Mamba2ConfigIo, HugeSizesAreRefusedBeforeAnythingIsAllocated) {
    // A few bytes of config.json naming hundreds of GB of Mamba-2, beside a tiny weight file:
    // refused by the size check (before the model is built), naming config.json.
    TempDir dir;
    json cfg = hfSmall();
    cfg["hidden_size"] = 1 << 20;
    cfg["num_hidden_layers"] = 64;
    cfg["head_dim"] = 1024;
    cfg["num_heads"] = 2048;
    std::ofstream(dir / "config.json") << cfg.dump();
    mts::writeSafetensors(dir / "model.safetensors", {{"backbone.embeddings.weight", torch::zeros({264, 64})}}, {});
    std::string msg;
    try {
        mts::loadModel(dir.path());
    } catch (const mts::FormatError& e) {
        msg = e.what();
    }
    EXPECT_NE(msg.find((dir / "config.json").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("describes a model of"), std::string::npos) << msg;
    EXPECT_NE(msg.find("hold only"), std::string::npos) << msg;

    // The count itself: every tensor of the block, overflow refused.
    mts::ModelConfig c = parse(hfSmall()).config;  // d 64, d_inner 128, 8 heads, 2 groups, state 8, kernel 4
    const int64_t d = 64, di = 128, h = 8, gn = 16, conv = di + 2 * gn, v = 272;  // 260 padded to 16
    const int64_t layer = d + (2 * di + 2 * gn + h) * d + conv * 4 + conv + 3 * h + di + di * d;
    ASSERT_TRUE(mts::checkedParameterCount(c).has_value());
    EXPECT_EQ(*mts::checkedParameterCount(c), v * d + 2 * layer + d + v * d);  // untied head (the default)
    c.dModel = int64_t(1) << 24;
    c.expand = int64_t(1) << 24;
    c.headDim = 1;
    EXPECT_FALSE(mts::checkedParameterCount(c).has_value());
}

}  // namespace
