#include "model/grad_checkpoint.h"

#include <tuple>

#include "mts/core/runtime/torch_compat.h"

namespace mts::detail {
namespace {

struct FnHolder : torch::CustomClassHolder {
    BlockFn fn;
    // The block's own parameter tensors: the recomputation uses the very same tensors, so
    // differentiating it w.r.t. them gives their gradients.
    std::vector<torch::Tensor> params;
    bool replayRng = false;
    torch::Tensor rngState;  // generator state at forward time (undefined when not replaying)
    bool autocast = false;
    at::ScalarType autocastDtype = at::kBFloat16;
};

at::Generator defaultGenerator(const torch::Device& device) {
    return at::globalContext().defaultGenerator(device);
}

class CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                                 torch::TensorList params, c10::intrusive_ptr<FnHolder> holder) {
        torch::NoGradGuard noGrad;
        if (holder->replayRng) {
            auto gen = defaultGenerator(x.device());
            std::lock_guard<std::mutex> lock(gen.mutex());
            holder->rngState = gen.get_state();
        }
        std::tie(holder->autocast, holder->autocastDtype) = compat::autocastState(x.device().type());
        torch::Tensor out = holder->fn(x);
        ctx->save_for_backward({x});
        ctx->saved_data["n_params"] = static_cast<int64_t>(params.size());
        ctx->saved_data["holder"] = c10::IValue::make_capsule(holder);
        return out;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list gradOut) {
        const torch::Tensor x = ctx->get_saved_variables()[0];
        const int64_t nParams = ctx->saved_data["n_params"].toInt();
        auto holder = c10::static_intrusive_pointer_cast<FnHolder>(ctx->saved_data["holder"].toCapsule());
        torch::Tensor xIn = x.detach().requires_grad_(x.requires_grad());
        torch::Tensor out;
        {
            torch::AutoGradMode enable(true);
            compat::AutocastGuard autocast(x.device().type(), holder->autocastDtype, holder->autocast);
            if (holder->replayRng && holder->rngState.defined()) {
                auto gen = defaultGenerator(x.device());
                torch::Tensor current;
                {
                    std::lock_guard<std::mutex> lock(gen.mutex());
                    current = gen.get_state();
                    gen.set_state(holder->rngState);
                }
                out = holder->fn(xIn);
                std::lock_guard<std::mutex> lock(gen.mutex());
                gen.set_state(current);
            } else {
                out = holder->fn(xIn);
            }
        }

        std::vector<torch::Tensor> targets;
        std::vector<int64_t> targetIndex;  // position in the returned gradient list
        if (xIn.requires_grad()) {
            targets.push_back(xIn);
            targetIndex.push_back(0);
        }
        for (int64_t i = 0; i < nParams; ++i) {
            const torch::Tensor& p = holder->params[static_cast<size_t>(i)];
            if (p.requires_grad()) {
                targets.push_back(p);
                targetIndex.push_back(1 + i);
            }
        }
        torch::autograd::variable_list result(static_cast<size_t>(nParams + 2));
        if (!targets.empty() && out.requires_grad()) {
            auto grads = torch::autograd::grad({out}, targets, {gradOut[0]}, /*retain_graph=*/false,
                                               /*create_graph=*/false, /*allow_unused=*/true);
            for (size_t k = 0; k < grads.size(); ++k) result[static_cast<size_t>(targetIndex[k])] = grads[k];
        }
        return result;
    }
};

}  // namespace

torch::Tensor checkpointBlock(const BlockFn& fn, const torch::Tensor& x,
                              const std::vector<torch::Tensor>& params, bool replayRng) {
    if (!torch::GradMode::is_enabled()) return fn(x);
    auto holder = c10::make_intrusive<FnHolder>();
    holder->fn = fn;
    holder->replayRng = replayRng;
    holder->params = params;
    return CheckpointFunction::apply(x, torch::TensorList(params), holder);
}

}  // namespace mts::detail
