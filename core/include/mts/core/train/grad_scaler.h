#pragma once
// Dynamic loss scaling for fp16 training, as torch.cuda.amp.GradScaler does it:
//
//   backward of (loss x scale)  ->  unscale(): grads /= scale, look for inf/nan
//   -> clip the (unscaled) gradients -> step(): the optimizer step, skipped when a gradient
//   was not finite -> update(): an overflow multiplies the scale by backoffFactor (0.5) and
//   restarts the count; growthInterval (2000) finite steps in a row multiply it by
//   growthFactor (2).
//
// One difference from PyTorch: the scale never drops below minScale (1 by default); fp16
// gradients that overflow unscaled are a real divergence, which the trainer's non-finite
// counter handles. The scaler works on any device and dtype (no autocast needed), so its
// logic is tested on the CPU. Its state (scale, good steps) is saved in trainer_state.json
// (TrainerState::lossScale / goodStepsSinceScale) and restored on resume.
// Threading: one scaler per training thread; not thread-safe.
#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

namespace mts {

struct GradScalerOptions {
    double initScale = 65536.0;    // 2^16
    double growthFactor = 2.0;     // > 1
    double backoffFactor = 0.5;    // in (0, 1)
    int64_t growthInterval = 2000; // finite steps in a row before the scale grows; >= 1
    double minScale = 1.0;         // the scale's floor (> 0)
};

/// What a checkpoint keeps of a scaler.
struct GradScalerState {
    double scale = 65536.0;
    int64_t goodSteps = 0;  // finite steps since the scale last changed
};

class GradScaler {
public:
    /// Throws std::invalid_argument for options out of range (see GradScalerOptions).
    explicit GradScaler(GradScalerOptions options = {});

    double scale() const { return m_state.scale; }
    int64_t goodSteps() const { return m_state.goodSteps; }
    int64_t skippedSteps() const { return m_skipped; }  // steps skipped by this scaler (this session)
    const GradScalerOptions& options() const { return m_options; }

    /// loss x scale (same shape and dtype as `loss`).
    torch::Tensor scaleLoss(const torch::Tensor& loss) const { return loss * m_state.scale; }

    /// Divides every defined .grad of `params` by the scale, in place, and returns true when they
    /// are all finite. Once per step: a second call before update() throws std::logic_error.
    bool unscale(const std::vector<torch::Tensor>& params);

    /// Runs `optimizerStep` unless unscale() found a non-finite gradient (unscales first when
    /// the caller has not). Returns whether it ran. Call update() afterwards.
    bool step(const std::vector<torch::Tensor>& params, const std::function<void()>& optimizerStep);

    /// The end of a step: backoff after an overflow, growth after growthInterval good steps.
    /// `foundInf` is what unscale() returned negated (update(bool) lets a caller that decided
    /// otherwise, e.g. from all data-parallel ranks, say so); update() uses unscale()'s finding.
    void update(bool foundInf);
    void update();

    GradScalerState state() const { return m_state; }
    /// Restores a saved state; throws std::invalid_argument for a scale that is not finite and
    /// positive or a negative count.
    void load(const GradScalerState& state);

private:
    GradScalerOptions m_options;
    GradScalerState m_state;
    int64_t m_skipped = 0;
    bool m_unscaled = false;
    bool m_foundInf = false;
};

}  // namespace mts
