#pragma once
// Shared argument check of the language models' forward/prefill/step (internal to model/).
#include <cstdint>

#include <torch/torch.h>

namespace mts::detail {

/// Throws std::invalid_argument naming `what` unless ids is a defined int64 tensor of `dims`
/// dimensions ((B, L) for forward/prefill, (B) for a step).
void checkIds(const torch::Tensor& ids, int64_t dims, const char* what);

}  // namespace mts::detail
