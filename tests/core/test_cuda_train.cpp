// Training on CUDA, checked against the CPU (TrainStepComparison.* runs the same harness CPU
// against CPU everywhere) (scripts/gpu-check.sh runs these on a GPU; without
// one every test here is skipped, saying why).
//
//   CudaTrainStep.*  the same init and batch on CPU (fp32, the reference) and CUDA: loss and
//                    every gradient compared.
//     fp32:  TF32 off; loss within 1e-4 relative, each gradient within 2e-3 x its largest
//            CPU value (+1e-6): only summation order differs.
//     bf16 / fp16 (autocast; fp16 through GradScaler, unscaled before the comparison):
//            loss within 2e-2 relative; all gradients as one vector: cosine >= 0.99 and
//            norm within 5% (3 and 4 significant digits per activation).
//   CudaRng.*        the CUDA generator's state through a checkpoint (and a resumed trainer).
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mts/core/kernels/selective_scan.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/runtime/torch_compat.h"
#include "mts/core/runtime/torch_compat_cuda.h"
#include "mts/core/train/checkpoint.h"
#include "mts/core/train/grad_scaler.h"
#include "mts/core/train/trainer.h"
#include "shared_data.h"
#include "test_train_support.h"

namespace mts {
namespace {

#define MTS_REQUIRE_CUDA()                                                                         \
    do {                                                                                           \
        if (!compat::cudaAvailable())                                                              \
            GTEST_SKIP() << "no CUDA device (or this LibTorch has no CUDA): run scripts/gpu-check.sh " \
                            "on a GPU machine";                                                    \
    } while (0)

ModelConfig smallModel(Architecture arch) {
    ModelConfig c;
    c.arch = arch;
    c.dModel = 64;
    c.nLayer = 2;
    c.vocabSize = 256;
    c.dState = arch == Architecture::Mamba2 ? 32 : 16;
    c.headDim = 32;
    c.nHead = 4;
    c.chunkSize = 32;
    c.maxSeqLen = 128;
    c.validate();
    return c;
}

struct StepResult {
    double loss = 0;
    std::vector<std::pair<std::string, torch::Tensor>> grads;  // float64 on the CPU, by name
    bool finite = true;
};

// One forward/backward of `model` on `batch` (B, L+1) on `device` in `precision`; fp16 goes
// through a GradScaler and is unscaled.
// The forward pass and loss (fp32) of `model` on `b` (B, L+1) under autocast for `precision`.
torch::Tensor forwardLoss(LanguageModel& model, const torch::Tensor& b, const torch::Device& device,
                          Precision precision) {
    const int64_t len = b.size(1) - 1;
    const bool autocast = precision != Precision::Fp32;
    compat::AutocastGuard guard(device.type(), precision == Precision::Fp16 ? at::kHalf : at::kBFloat16, autocast);
    auto logits = model->forward(b.slice(1, 0, len));  // (B, L, V)
    return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32),
                                                b.slice(1, 1, len + 1).reshape({-1}));
}

// One forward/backward of `model` on `batch` on `device` in `precision`. fp16 goes through a
// GradScaler as training does: an overflow halves the scale and the step is taken again.
StepResult oneStep(LanguageModel& model, const torch::Tensor& batch, const torch::Device& device,
                   Precision precision) {
    model->to(device);
    model->train();
    const auto b = batch.to(device);
    std::vector<torch::Tensor> params;
    for (auto& p : model->named_parameters()) params.push_back(p.value());
    StepResult r;
    if (precision == Precision::Fp16) {
        GradScaler scaler;
        for (int attempt = 0; attempt < 8; ++attempt) {
            model->zero_grad();
            const torch::Tensor loss = forwardLoss(model, b, device, precision);
            r.loss = loss.item<double>();
            scaler.scaleLoss(loss).backward();
            r.finite = scaler.unscale(params);
            scaler.update();
            if (r.finite) break;
        }
        std::printf("[ figures  ] fp16 loss scale used: %.0f\n", r.finite ? scaler.scale() : 0.0);
    } else {
        model->zero_grad();
        const torch::Tensor loss = forwardLoss(model, b, device, precision);
        r.loss = loss.item<double>();
        loss.backward();
    }
    for (auto& p : model->named_parameters())
        if (p.value().grad().defined()) r.grads.emplace_back(p.key(), p.value().grad().to(torch::kCPU, torch::kFloat64));
    return r;
}

// The CPU fp32 step (the reference) against the step on `device` in `precision`; `backend`: the
// scan the second step uses (Auto: the device's own).
void compareStep(Architecture arch, Precision precision, torch::Device device = torch::Device(torch::kCUDA, 0),
                 ScanBackend backend = ScanBackend::Auto) {
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
    const ModelConfig c = smallModel(arch);
    torch::manual_seed(17);
    LanguageModel cpuModel = createModel(c);
    torch::manual_seed(17);
    LanguageModel gpuModel = createModel(c);  // the same init
    const torch::Tensor batch = torch::randint(0, 256, {4, 65}, torch::kLong);

    const StepResult ref = oneStep(cpuModel, batch, torch::kCPU, Precision::Fp32);
    setAutoScanBackendOverride(backend);
    const StepResult got = oneStep(gpuModel, batch, device, precision);
    setAutoScanBackendOverride(ScanBackend::Auto);
    ASSERT_TRUE(got.finite) << "non-finite gradients on " << device.str();
    ASSERT_EQ(ref.grads.size(), got.grads.size());
    const double lossTol = precision == Precision::Fp32 ? 1e-4 : 2e-2;
    EXPECT_NEAR(got.loss, ref.loss, lossTol * std::abs(ref.loss)) << toString(precision);
    std::printf("[ figures  ] %s %s: loss CPU fp32 %.6f, %s %.6f\n", toString(arch).c_str(),
                toString(precision).c_str(), ref.loss, device.str().c_str(), got.loss);
    if (precision == Precision::Fp32) {
        double worst = 0;
        for (size_t i = 0; i < ref.grads.size(); ++i) {
            const auto& [name, g] = ref.grads[i];
            ASSERT_EQ(name, got.grads[i].first);
            const double diff = (got.grads[i].second - g).abs().max().item<double>();
            const double scale = g.abs().max().item<double>();
            EXPECT_LE(diff, 2e-3 * scale + 1e-6) << name;
            worst = std::max(worst, diff / (scale + 1e-12));
        }
        std::printf("[ figures  ] worst gradient difference / its max: %.2e\n", worst);
        return;
    }
    std::vector<torch::Tensor> a, b;
    for (size_t i = 0; i < ref.grads.size(); ++i) {
        a.push_back(ref.grads[i].second.flatten());
        b.push_back(got.grads[i].second.flatten());
    }
    const auto va = torch::cat(a), vb = torch::cat(b);
    const double cosine = (va.dot(vb) / (va.norm() * vb.norm())).item<double>();
    const double normRatio = (vb.norm() / va.norm()).item<double>();
    std::printf("[ figures  ] gradient cosine %.5f, norm ratio %.4f\n", cosine, normRatio);
    EXPECT_GE(cosine, 0.99);
    EXPECT_NEAR(normRatio, 1.0, 0.05);
}

// The comparison itself, checked where it can run: the CPU against itself through another scan
// (fp32) and through bf16 autocast (the tolerances above hold there too).
TEST(TrainStepComparison, CpuChunkedScanMatchesCpuFusedInFp32) {
    compareStep(Architecture::Mamba, Precision::Fp32, torch::kCPU, ScanBackend::Chunked);
}
TEST(TrainStepComparison, CpuBf16MatchesCpuFp32) {
    compareStep(Architecture::Mamba, Precision::Bf16, torch::kCPU);
}

TEST(CudaTrainStep, MambaFp32MatchesCpu) {
    MTS_REQUIRE_CUDA();
    compareStep(Architecture::Mamba, Precision::Fp32);
}
TEST(CudaTrainStep, Mamba2Fp32MatchesCpu) {
    MTS_REQUIRE_CUDA();
    compareStep(Architecture::Mamba2, Precision::Fp32);
}
TEST(CudaTrainStep, TransformerFp32MatchesCpu) {
    MTS_REQUIRE_CUDA();
    compareStep(Architecture::Transformer, Precision::Fp32);
}
TEST(CudaTrainStep, MambaBf16MatchesCpuFp32) {
    MTS_REQUIRE_CUDA();
    compareStep(Architecture::Mamba, Precision::Bf16);
}
TEST(CudaTrainStep, MambaFp16WithLossScalingMatchesCpuFp32) {
    MTS_REQUIRE_CUDA();
    compareStep(Architecture::Mamba, Precision::Fp16);
}
TEST(CudaTrainStep, Mamba2Bf16MatchesCpuFp32) {
    MTS_REQUIRE_CUDA();
    compareStep(Architecture::Mamba2, Precision::Bf16);
}

// The trainer in fp16 on CUDA: steps run (loss finite, scale logged), the checkpoint carries the
// CUDA generator state, and a resumed run restores it.
TEST(CudaTrainStep, TrainerFp16RunsLogsTheScaleAndCheckpointsTheCudaRng) {
    MTS_REQUIRE_CUDA();
    test::TempDir dir;
    TrainConfig cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.device = "cuda";
    cfg.precision = Precision::Fp16;
    cfg.maxSteps = 6;
    cfg.logEvery = 1;
    cfg.checkpointEvery = 3;
    TrainStart where;
    where.runsDir = dir / "runs";
    where.name = "fp16";
    const TrainResult r = Trainer(cfg, where).run();
    ASSERT_EQ(r.stopReason, TrainStopReason::MaxSteps) << r.message;
    EXPECT_TRUE(std::isfinite(r.finalLoss));
    std::ifstream metrics(r.runDir / "metrics.jsonl");
    std::string line;
    int withScale = 0;
    while (std::getline(metrics, line)) {
        const auto j = nlohmann::json::parse(line);
        if (j.value("type", "") != "train") continue;
        ASSERT_TRUE(j.contains("loss_scale")) << line;
        ASSERT_TRUE(j.contains("skipped_steps")) << line;
        EXPECT_GT(j["loss_scale"].get<double>(), 0.0);
        ++withScale;
    }
    EXPECT_EQ(withScale, 6);
    const LoadedCheckpoint ck = readCheckpoint(r.runDir);
    EXPECT_TRUE(ck.cudaRngState.defined());
    EXPECT_TRUE(std::isfinite(ck.state.lossScale));
    EXPECT_GE(ck.state.lossScale, 1.0);

    // Resume: continues to step 9 from the checkpoint (its CUDA RNG restored without error).
    cfg.maxSteps = 9;
    TrainStart again;
    again.resumeFrom = r.runDir;
    const TrainResult r2 = Trainer(cfg, again).run();
    ASSERT_EQ(r2.stopReason, TrainStopReason::MaxSteps) << r2.message;
    EXPECT_EQ(r2.steps, 9);
}

TEST(CudaRng, StateRoundTripsThroughACheckpoint) {
    MTS_REQUIRE_CUDA();
    test::TempDir dir;
    TrainConfig cfg = test::tinyConfig(test::writeTinyCorpus(dir.path()));
    cfg.model.vocabSize = 257;
    torch::manual_seed(4);
    auto model = createModel(cfg.model);
    std::vector<NamedParam> params;
    std::vector<bool> decay;
    for (auto& p : model->named_parameters()) {
        params.push_back({p.key(), p.value()});
        decay.push_back(true);
    }
    AdamW opt(params, decay, AdamWOptions{});
    TrainerState st;
    st.step = 1;
    auto tok = makeByteTokenizer();
    torch::cuda::manual_seed(123);
    torch::randn({5}, torch::Device(torch::kCUDA, 0));  // move the generator on from its seed
    CheckpointWrite w{&cfg, &st, model.get(), tok.get(), &opt, 0};
    w.cudaRngState = compat::cudaRngState(0);
    ASSERT_TRUE(w.cudaRngState.defined());
    writeCheckpoint(dir / "checkpoints", w);
    const torch::Tensor expected = torch::randn({64}, torch::Device(torch::kCUDA, 0)).cpu();

    torch::cuda::manual_seed(999);  // elsewhere
    const LoadedCheckpoint ck = readCheckpoint(dir.path());
    ASSERT_TRUE(ck.cudaRngState.defined());
    compat::setCudaRngState(0, ck.cudaRngState);
    const torch::Tensor again = torch::randn({64}, torch::Device(torch::kCUDA, 0)).cpu();
    EXPECT_TRUE(torch::equal(again, expected));
    EXPECT_THROW(compat::setCudaRngState(0, torch::zeros({3}, torch::kUInt8)), std::runtime_error);
}

TEST(CudaMemory, AllocatorPeakSeesATensor) {
    MTS_REQUIRE_CUDA();
    if (!compat::cudaAllocatorStatsBuilt()) GTEST_SKIP() << "built with MTS_CUDA_ALLOCATOR_STATS=OFF";
    compat::resetCudaPeakMemory(0);
    {
        auto t = torch::empty({64 << 20}, torch::TensorOptions(torch::kFloat32).device(torch::kCUDA, 0));  // 256 MiB
        t.fill_(1);
    }
    const auto peak = compat::cudaPeakMemory(0);
    ASSERT_TRUE(peak.has_value());
    EXPECT_GE(peak->allocatedBytes, int64_t(256) << 20);
    EXPECT_GE(peak->reservedBytes, peak->allocatedBytes);
}

}  // namespace
}  // namespace mts
