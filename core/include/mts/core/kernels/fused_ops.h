#pragma once
// Autograd helpers for the Mamba mixer where the tensor-op backward makes avoidable full
// passes over the block's largest activations.
#include <torch/torch.h>

#include <vector>

namespace mts {

/// x.narrow(-1, ...) into consecutive parts of the given sizes, as views; the backward is one
/// concatenation (narrow's backward zero-fills a whole-input gradient per part and adds them).
/// Parts with no gradient count as zeros. Outside grad mode, plain narrow views.
std::vector<torch::Tensor> splitLastDim(const torch::Tensor& x, std::vector<int64_t> sizes);

}  // namespace mts
