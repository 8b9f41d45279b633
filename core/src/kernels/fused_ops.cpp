#include "mts/core/kernels/fused_ops.h"

#include <utility>

namespace mts {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Splits the last dimension into views (x | z of in_proj, dt | B | C of x_proj) whose backward
// is one concatenation. With narrow() each part's backward allocates a zero-filled tensor of
// the whole input and the parts are then added: for in_proj's (B, L, 2 D_inner) output that
// was two fills and an add of the largest activation in the block, every step.
class SplitLastDimFunction : public torch::autograd::Function<SplitLastDimFunction> {
public:
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& x, std::vector<int64_t> sizes) {
        ctx->saved_data["sizes"] = sizes;
        ctx->saved_data["shape"] = x.sizes().vec();
        variable_list parts;
        int64_t offset = 0;
        for (int64_t s : sizes) {
            parts.push_back(x.narrow(-1, offset, s));
            offset += s;
        }
        return parts;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const std::vector<int64_t> sizes = ctx->saved_data["sizes"].toIntVector();
        std::vector<int64_t> shape = ctx->saved_data["shape"].toIntVector();
        torch::TensorOptions opts;
        for (const auto& g : grads)
            if (g.defined()) opts = g.options();
        std::vector<torch::Tensor> parts;
        for (size_t i = 0; i < sizes.size(); ++i) {
            if (grads[i].defined()) {
                parts.push_back(grads[i]);
            } else {
                shape.back() = sizes[i];
                parts.push_back(torch::zeros(shape, opts));
            }
        }
        return {torch::cat(parts, -1), torch::Tensor()};
    }
};

}  // namespace

std::vector<torch::Tensor> splitLastDim(const torch::Tensor& x, std::vector<int64_t> sizes) {
    if (!x.requires_grad() || !torch::GradMode::is_enabled()) {
        std::vector<torch::Tensor> parts;
        int64_t offset = 0;
        for (int64_t s : sizes) {
            parts.push_back(x.narrow(-1, offset, s));
            offset += s;
        }
        return parts;
    }
    return SplitLastDimFunction::apply(x, std::move(sizes));
}

}  // namespace mts
