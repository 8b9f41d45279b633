// The checkpoint's optional CUDA random state ("rng.cuda" in optimizer.safetensors), on the CPU:
// carried when given, absent in checkpoints written without it (every checkpoint before it
// existed), and never handed to the optimizer. The real CUDA round trip is CudaRng.* in
// test_cuda_train.cpp (skipped without a GPU). Also the GPU peak table bench train uses.
#include <gtest/gtest.h>

#include "mts/core/formats/model_io.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/torch_compat.h"
#include "mts/core/runtime/torch_compat_cuda.h"
#include "mts/core/train/checkpoint.h"
#include "shared_data.h"
#include "test_train_support.h"

namespace mts {
namespace {

struct TinyRun {
    test::TempDir dir;
    TrainConfig cfg;
    LanguageModel model;
    std::unique_ptr<AdamW> opt;
    TrainerState st;
    std::unique_ptr<Tokenizer> tok = makeByteTokenizer();

    TinyRun() {
        cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
        cfg.model.vocabSize = 257;
        torch::manual_seed(2);
        model = createModel(cfg.model);
        std::vector<NamedParam> params;
        std::vector<bool> decay;
        for (auto& p : model->named_parameters()) {
            params.push_back({p.key(), p.value()});
            decay.push_back(true);
        }
        opt = std::make_unique<AdamW>(params, decay, AdamWOptions{});
    }
    std::filesystem::path write(int64_t step, const torch::Tensor& cudaRng) {
        st.step = step;
        CheckpointWrite w{&cfg, &st, model.get(), tok.get(), opt.get(), 0};
        w.cudaRngState = cudaRng;
        return writeCheckpoint(dir / "checkpoints", w);
    }
};

TEST(CheckpointCudaRng, CarriesTheOptionalCudaStateBesideTheCpuOne) {
    TinyRun r;
    // A stand-in for a CUDA generator state (on a GPU: compat::cudaRngState, 16 bytes).
    const torch::Tensor fake = torch::arange(0, 16, torch::kUInt8);
    const auto dir = r.write(3, fake);
    const LoadedCheckpoint ck = readCheckpoint(dir);
    ASSERT_TRUE(ck.cudaRngState.defined());
    EXPECT_TRUE(torch::equal(ck.cudaRngState, fake));
    EXPECT_TRUE(ck.cpuRngState.defined());
    EXPECT_EQ(ck.optimizerState.count("rng.cuda"), 0u);
    EXPECT_NO_THROW(r.opt->loadStateDict(ck.optimizerState));  // the optimizer never sees it
}

TEST(CheckpointCudaRng, ACheckpointWithoutItLoads) {
    TinyRun r;
    const auto dir = r.write(4, torch::Tensor());  // what every CPU run (and older build) writes
    const LoadedCheckpoint ck = readCheckpoint(dir);
    EXPECT_FALSE(ck.cudaRngState.defined());
    EXPECT_TRUE(ck.cpuRngState.defined());
    EXPECT_EQ(ck.state.step, 4);
    EXPECT_NO_THROW(r.opt->loadStateDict(ck.optimizerState));
}

TEST(CheckpointCudaRng, CudaCallsAnswerPlainlyWithoutCuda) {
    if (compat::cudaAvailable()) GTEST_SKIP() << "a CUDA device is present: CudaRng.* covers it";
    EXPECT_FALSE(compat::cudaRngState(0).defined());
    EXPECT_THROW(compat::setCudaRngState(0, torch::zeros({16}, torch::kUInt8)), std::runtime_error);
    EXPECT_FALSE(compat::cudaPeakMemory(0).has_value());
    compat::resetCudaPeakMemory(0);  // a no-op
}

TEST(GpuPeaks, KnownBf16PeaksByDeviceName) {
    EXPECT_EQ(compat::knownBf16PeakTflops("NVIDIA H100 80GB HBM3, 79.1 GiB"), 989.0);
    EXPECT_EQ(compat::knownBf16PeakTflops("NVIDIA H100 PCIe, 79.1 GiB"), 756.0);
    EXPECT_EQ(compat::knownBf16PeakTflops("NVIDIA H200, 139.8 GiB"), 989.0);
    EXPECT_EQ(compat::knownBf16PeakTflops("NVIDIA A100-SXM4-80GB"), 312.0);
    EXPECT_FALSE(compat::knownBf16PeakTflops("NVIDIA GeForce RTX 3060").has_value());
    EXPECT_FALSE(compat::knownBf16PeakTflops("").has_value());
}

}  // namespace
}  // namespace mts
