#include <fmt/format.h>

#include "mts/core/generate/generation.h"
#include "mts/core/runtime/torch_compat.h"
#include "train/trainer_internal.h"

namespace mts::detail {

torch::Tensor windowLoss(LanguageModelImpl& model, const torch::Tensor& windows, const torch::Device& device,
                         Precision precision) {
    const int64_t len = windows.size(1) - 1;
    auto w = windows.to(device);
    auto x = w.slice(1, 0, len);
    auto y = w.slice(1, 1, len + 1);
    torch::Tensor logits;
    {
        const bool autocast = precision != Precision::Fp32;
        const auto dtype = precision == Precision::Fp16 && device.is_cuda() ? at::kHalf : at::kBFloat16;
        compat::AutocastGuard guard(device.type(), dtype, autocast);
        logits = model.forward(x);
    }
    // The loss (log-softmax over the vocabulary) always runs in fp32.
    return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32),
                                                y.reshape({-1}));
}

double evaluateLoss(LanguageModelImpl& model, const TokenStream& val, int64_t batches, int64_t rows, int64_t seqLen,
                    const torch::Device& device, Precision precision) {
    const bool wasTraining = model.is_training();
    model.eval();
    torch::NoGradGuard noGrad;
    double total = 0.0;
    for (int64_t i = 0; i < batches; ++i)
        total += windowLoss(model, evalBatch(val, i, batches, rows, seqLen), device, precision).item<double>();
    model.train(wasTraining);
    return total / static_cast<double>(batches);
}

std::string sampleText(LanguageModelImpl& model, const Tokenizer& tokenizer, const std::string& prompt,
                       int64_t tokens, double temperature, uint64_t seed) {
    GenerateRequest req;
    req.promptIds = tokenizer.encode(prompt);
    if (req.promptIds.empty() && !tokenizer.eosId()) req.promptIds.push_back(0);
    req.options.temperature = temperature;
    req.options.maxNewTokens = tokens;
    req.options.seed = seed;
    req.options.topK = 0;
    return generate(model, &tokenizer, req).text;
}

std::unique_ptr<Optimizer> buildOptimizer(LanguageModelImpl& model, const TrainConfig& c, std::string& summary) {
    AdamWOptions aw;
    aw.lr = c.lr;
    aw.beta1 = c.beta1;
    aw.beta2 = c.beta2;
    aw.eps = c.eps;
    aw.weightDecay = c.weightDecay;
    std::vector<NamedParam> hidden, others;
    std::vector<bool> othersDecay;
    int64_t counts[4] = {0, 0, 0, 0};
    for (auto& item : model.named_parameters(/*recurse=*/true)) {
        if (!item.value().requires_grad()) continue;
        ParamRole role = classifyParameter(item.key(), item.value());
        counts[static_cast<int>(role)] += item.value().numel();
        if (role == ParamRole::Hidden && c.optimizer == OptimizerKind::Muon) {
            hidden.push_back({item.key(), item.value()});
        } else {
            others.push_back({item.key(), item.value()});
            othersDecay.push_back(role == ParamRole::Decay || role == ParamRole::Hidden);
        }
    }
    summary = fmt::format("{}: {} hidden-matrix, {} other-matrix, {} embedding, {} norm/bias/A_log/D parameters",
                          toString(c.optimizer), counts[3], counts[2], counts[0], counts[1]);
    if (c.optimizer == OptimizerKind::AdamW)
        return std::make_unique<AdamW>(std::move(others), std::move(othersDecay), aw);
    MuonOptions mo;
    mo.lr = c.muonLr;
    mo.momentum = c.muonMomentum;
    mo.nsSteps = c.muonNsSteps;
    mo.weightDecay = c.weightDecay;
    return std::make_unique<HybridMuon>(std::move(hidden), std::move(others), std::move(othersDecay), mo, aw);
}

}  // namespace mts::detail
