#pragma once
// Optimizers of the trainer, written here (not torch::optim) so that every piece of state is
// a named tensor that checkpoints save and restore exactly.
//
// Parameter roles (classifyParameter):
//   Embedding  token / position tables            AdamW, no weight decay
//   NoDecay    norms, biases, A_log, D (1-D)      AdamW, no weight decay
//   Decay      other matrices (conv, dt_proj, head) AdamW with weight decay
//   Hidden     2-D hidden matrices (in/out/x proj, attention, MLP) -> Muon under the hybrid,
//              AdamW with decay otherwise
// dt_proj and conv weights always stay on AdamW (the Muon update's fixed norm does not suit
// them: dt_proj sets the SSM's time steps, conv1d is 3-D).
//
// Threading: an optimizer is used by the training thread only.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace mts {

enum class ParamRole { Embedding, NoDecay, Decay, Hidden };
std::string toString(ParamRole r);  // "embedding", "no_decay", "decay", "hidden"

/// Role of a parameter from its name and shape.
ParamRole classifyParameter(const std::string& name, const torch::Tensor& p);

struct NamedParam {
    std::string name;
    torch::Tensor param;  // the model's parameter (grad read from param.grad())
};

struct AdamWOptions {
    double lr = 1e-3;
    double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
    double weightDecay = 0.1;
};

struct MuonOptions {
    double lr = 1e-3;
    double momentum = 0.95;
    bool nesterov = true;
    int64_t nsSteps = 5;
    double weightDecay = 0.1;
};

/// Base: step() applies one update with every group's peak LR times lrFactor. Parameters
/// whose grad is undefined are left unchanged. State tensors are fp32 on the params' device.
class Optimizer {
public:
    virtual ~Optimizer() = default;
    virtual void step(double lrFactor) = 0;
    void zeroGrad();
    /// All parameters this optimizer updates.
    const std::vector<NamedParam>& params() const { return m_params; }
    /// Every state tensor by a stable name ("adamw.exp_avg.<param>", "muon.momentum.<param>").
    virtual std::map<std::string, torch::Tensor> stateDict() const = 0;
    /// Restores from stateDict() output (tensors copied onto the state's device). Throws
    /// std::runtime_error naming the entry for a missing entry or a shape mismatch.
    virtual void loadStateDict(const std::map<std::string, torch::Tensor>& state) = 0;
    /// Completed steps (for bias correction).
    int64_t stepCount() const { return m_stepCount; }
    /// "adamw" or "muon".
    virtual std::string kind() const = 0;
    /// Peak LR of each group by group name ("adamw", "muon").
    virtual std::map<std::string, double> peakLrs() const = 0;

protected:
    std::vector<NamedParam> m_params;
    int64_t m_stepCount = 0;
};

/// AdamW with decoupled weight decay, applied only where `decay[i]` is true.
class AdamW : public Optimizer {
public:
    AdamW(std::vector<NamedParam> params, std::vector<bool> decay, AdamWOptions options);
    void step(double lrFactor) override;
    std::map<std::string, torch::Tensor> stateDict() const override;
    void loadStateDict(const std::map<std::string, torch::Tensor>& state) override;
    std::string kind() const override { return "adamw"; }
    std::map<std::string, double> peakLrs() const override { return {{"adamw", m_options.lr}}; }

private:
    friend class HybridMuon;
    std::vector<bool> m_decay;
    std::vector<torch::Tensor> m_expAvg, m_expAvgSq;
    AdamWOptions m_options;
};

/// Muon for Hidden matrices + an AdamW for everything else (own LR each). The Muon update
/// NS(momentum) is scaled by 0.2 * sqrt(max(m, n)) so its RMS matches AdamW's, and takes the
/// same decoupled weight decay.
class HybridMuon : public Optimizer {
public:
    HybridMuon(std::vector<NamedParam> hidden, std::vector<NamedParam> others, std::vector<bool> othersDecay,
               MuonOptions muon, AdamWOptions adamw);
    void step(double lrFactor) override;
    std::map<std::string, torch::Tensor> stateDict() const override;
    void loadStateDict(const std::map<std::string, torch::Tensor>& state) override;
    std::string kind() const override { return "muon"; }
    std::map<std::string, double> peakLrs() const override {
        return {{"muon", m_options.lr}, {"adamw", m_adamw.m_options.lr}};
    }

    /// The update direction Muon would apply for a gradient, given the momentum buffer before
    /// the step (exposed for tests): NS(nesterov ? g + mu * buf' : buf') where buf' = mu * buf + g.
    torch::Tensor updateDirection(const torch::Tensor& grad, torch::Tensor& momentum) const;

private:
    std::vector<NamedParam> m_hidden;
    std::vector<torch::Tensor> m_momentum;
    MuonOptions m_options;
    AdamW m_adamw;
};

/// Newton-Schulz orthogonalisation of a 2-D matrix G (m, n): returns ~U V^T of G's SVD.
/// quintic = true: the tuned quintic iteration Muon uses (fast; singular values end up in
/// roughly [0.7, 1.2], not exactly 1); false: the cubic iteration (1.5 X - 0.5 X X^T X), which
/// converges to the exact orthogonal factor with enough steps. Works in fp32.
torch::Tensor newtonSchulz(const torch::Tensor& g, int64_t steps, bool quintic = true);

/// Global L2 norm of all defined grads (fp32 accumulation); NaN/inf when any grad is.
double gradNorm(const std::vector<NamedParam>& params);
/// Multiplies every defined grad by scale.
void scaleGrads(const std::vector<NamedParam>& params, double scale);

}  // namespace mts
