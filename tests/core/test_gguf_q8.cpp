// GGUF Q8_0 (llama.cpp's block_q8_0): the writer's byte layout, the round trip within half a
// quantization step, the exporter's --dtype q8_0, and malformed 8-bit files refused with the
// file and the tensor named.
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/formats/export.h"
#include "mts/core/formats/gguf.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"
#include "shared_data.h"
#include "test_files.h"

using mts::test::readFile;

namespace {

namespace gguf = mts::gguf;
using mts::test::TempDir;

TEST(GgufQ8, WritesLlamaCppBlocksAndReadsThemBackWithinHalfAStep) {
    TempDir dir;
    torch::manual_seed(0);
    const torch::Tensor w = torch::randn({3, 64});
    gguf::Writer wr;
    wr.set("general.architecture", gguf::Value::str("test"));
    wr.addTensor("m", w, gguf::TensorType::Q8_0);
    wr.write(dir.path() / "q.gguf");
    const std::string bytes = readFile(dir.path() / "q.gguf");
    const gguf::File f = gguf::parse(bytes.data(), bytes.size(), "q.gguf");
    ASSERT_EQ(f.tensorInfos.size(), 1u);
    EXPECT_EQ(f.tensorInfos[0].type, gguf::TensorType::Q8_0);
    EXPECT_EQ(f.tensorInfos[0].ne, (std::vector<int64_t>{64, 3}));
    // The data section is the last 3 rows x 2 blocks x 34 bytes of the file.
    ASSERT_GE(bytes.size(), 204u);
    const char* data = bytes.data() + bytes.size() - 204;
    for (int64_t r = 0; r < 3; ++r) {
        for (int64_t b = 0; b < 2; ++b) {
            const char* blk = data + (r * 2 + b) * 34;
            const torch::Tensor v = w[r].narrow(0, b * 32, 32);
            const float amax = v.abs().max().item<float>();
            uint16_t dh;
            std::memcpy(&dh, blk, 2);
            const float d = c10::Half(dh, c10::Half::from_bits());
            EXPECT_EQ(d, static_cast<float>(c10::Half(amax / 127.0f)));  // f16 scale max|x| / 127
            for (int64_t j = 0; j < 32; ++j) {
                const int8_t q = static_cast<int8_t>(blk[2 + j]);
                EXPECT_EQ(q, static_cast<int8_t>(std::nearbyint(v[j].item<float>() * (127.0f / amax))));
            }
        }
    }
    const torch::Tensor back = f.tensors.at("m");
    EXPECT_EQ(back.sizes(), w.sizes());
    EXPECT_EQ(back.scalar_type(), torch::kFloat32);
    for (int64_t r = 0; r < 3; ++r)
        for (int64_t b = 0; b < 2; ++b) {
            const torch::Tensor v = w[r].narrow(0, b * 32, 32);
            const double step = v.abs().max().item<double>() / 127;
            EXPECT_LE((back[r].narrow(0, b * 32, 32) - v).abs().max().item<double>(), 0.57 * step);
        }
    EXPECT_THROW(wr.addTensor("odd", torch::randn({2, 33}), gguf::TensorType::Q8_0), std::invalid_argument);
}

TEST(GgufQ8, MalformedEightBitFilesAreRefusedNamingFileAndTensor) {
    TempDir dir;
    gguf::Writer wr;
    wr.addTensor("blk.0.ssm_in.weight", torch::randn({2, 32}), gguf::TensorType::Q8_0);
    wr.write(dir.path() / "q.gguf");
    const std::string good = readFile(dir.path() / "q.gguf");
    EXPECT_NO_THROW(gguf::parse(good.data(), good.size(), "q.gguf"));
    auto expectRefused = [](const std::string& bytes, const std::string& wanted) {
        try {
            gguf::parse(bytes.data(), bytes.size(), "bad.gguf");
            ADD_FAILURE() << "accepted; wanted: " << wanted;
        } catch (const mts::FormatError& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find("bad.gguf"), std::string::npos) << what;
            EXPECT_NE(what.find(wanted), std::string::npos) << what;
        }
    };
    // A NaN scale in the second block.
    std::string nan = good;
    const size_t dataStart = good.size() - 2 * 34;
    nan[dataStart + 34] = 0x00;
    nan[dataStart + 35] = 0x7e;
    expectRefused(nan, "non-finite scale");
    // Truncated: the last block cut short.
    expectRefused(good.substr(0, good.size() - 5), "blk.0.ssm_in.weight");
    // ne[0] not a multiple of 32: patch the written 32 to 33 (the first u64 32 after the name).
    std::string odd = good;
    const size_t namePos = odd.find("blk.0.ssm_in.weight");
    const size_t nePos = namePos + std::strlen("blk.0.ssm_in.weight") + 4;  // + u32 n_dims
    uint64_t ne0;
    std::memcpy(&ne0, odd.data() + nePos, 8);
    ASSERT_EQ(ne0, 32u);
    ne0 = 33;
    std::memcpy(&odd[nePos], &ne0, 8);
    expectRefused(odd, "multiple of 32");
}

TEST(GgufQ8, ExportQ8KeepsSmallTensorsF32AndQuantizesTheLargeOnes) {
    TempDir dir;
    mts::ModelConfig c;
    c.dModel = 64;
    c.nLayer = 2;
    c.vocabSize = 257;  // the byte tokenizer's ids
    c.validate();
    torch::manual_seed(1);
    mts::LanguageModel model = mts::createModel(c);
    auto tok = mts::makeByteTokenizer();
    const auto r = mts::exportGguf(*model, *tok, dir.path() / "m.gguf", mts::ExportDtype::Q8_0);
    EXPECT_TRUE(r.warnings.empty());
    const gguf::File f = gguf::readFile(dir.path() / "m.gguf");
    EXPECT_EQ(f.find("general.file_type")->u, 7u);  // MOSTLY_Q8_0
    for (const auto& ti : f.tensorInfos) {
        const bool big = ti.name == "token_embd.weight" || ti.name.find("ssm_in") != std::string::npos ||
                         ti.name.find("ssm_out") != std::string::npos;
        EXPECT_EQ(ti.type, big ? gguf::TensorType::Q8_0 : gguf::TensorType::F32) << ti.name;
    }
    const torch::Tensor in = model->named_parameters()["backbone.layers.1.mixer.in_proj.weight"];
    const torch::Tensor back = f.tensors.at("blk.1.ssm_in.weight");
    EXPECT_LE((back - in).abs().max().item<double>(), 0.57 * in.abs().max().item<double>() / 127);
    EXPECT_THROW(mts::exportHuggingFace(*model, *tok, dir.path() / "hf", mts::ExportDtype::Q8_0), mts::ConfigError);
}

}  // namespace
