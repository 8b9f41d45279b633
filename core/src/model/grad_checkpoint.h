#pragma once
// Activation checkpointing for one block (internal to the model code).
//
// LibTorch C++ has no torch.utils.checkpoint, so checkpointBlock() wraps `fn` in a custom
// autograd Function: forward runs fn under no-grad and keeps only the input; backward runs
// fn again with grad enabled and differentiates it w.r.t. the input and `params` (the block's
// parameters, which fn must use). The RNG state of the input's device is replayed so that
// dropout masks match, and the autocast state of the forward is restored for the recompute.
#include <functional>
#include <vector>

#include <torch/torch.h>

namespace mts::detail {

using BlockFn = std::function<torch::Tensor(const torch::Tensor&)>;

/// x: any shape; returns fn(x). Falls back to a plain call when grad mode is off.
torch::Tensor checkpointBlock(const BlockFn& fn, const torch::Tensor& x,
                              const std::vector<torch::Tensor>& params, bool replayRng);

}  // namespace mts::detail
