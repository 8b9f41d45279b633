// Every architecture can fit a fixed batch: the loss falls well below its start in a few
// Adam steps (catches a broken backward, a detached parameter or a wrong target shift).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mts/core/model/language_model.h"
#include "mts/core/model/model_factory.h"

namespace {

double fitLoss(mts::Architecture arch, bool checkpointing, double* firstLoss) {
    mts::ModelConfig cfg;
    cfg.arch = arch;
    cfg.dModel = 32;
    cfg.nLayer = 2;
    cfg.nHead = 4;
    cfg.vocabSize = 40;
    cfg.dState = 8;
    cfg.maxSeqLen = 32;
    cfg.context = 8;
    torch::manual_seed(21);
    auto model = mts::createModel(cfg);
    model->train();
    model->setGradientCheckpointing(checkpointing);
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-2));
    auto ids = torch::randint(0, cfg.vocabSize, {4, 17}, torch::kInt64);
    double loss = 0.0;
    for (int step = 0; step < 40; ++step) {
        opt.zero_grad();
        auto logits = model->forward(ids.narrow(1, 0, 16));
        auto l = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(2)}),
                                                      ids.narrow(1, 1, 16).reshape({-1}));
        l.backward();
        opt.step();
        loss = l.item<double>();
        if (step == 0) *firstLoss = loss;
    }
    return loss;
}

TEST(ModelLearns, EveryArchitectureFitsAFixedBatch) {
    for (auto arch : {mts::Architecture::Mamba, mts::Architecture::Transformer, mts::Architecture::Attention1,
                      mts::Architecture::Linear}) {
        double first = 0.0;
        const double last = fitLoss(arch, /*checkpointing=*/arch == mts::Architecture::Mamba, &first);
        EXPECT_NEAR(first, std::log(40.0), 0.5) << mts::toString(arch);  // starts near uniform
        EXPECT_LT(last, 0.5 * first) << mts::toString(arch);
    }
}

}  // namespace
