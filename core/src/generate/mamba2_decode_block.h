#pragma once
// The fused batch-1 step of one Mamba-2 block (see decode_block.h).
#include <memory>

#include "mts/core/generate/decode_block.h"
#include "mts/core/kernels/decode_cpu.h"
#include "mts/core/model/mamba2.h"

namespace mts {

/// Makes the decode block of `block` (a Mamba2LM block, CPU) with in_proj and out_proj in
/// `weights`; the conv, dt_bias, A, D and the norms stay fp32.
std::unique_ptr<DecodeBlock> makeMamba2DecodeBlock(Mamba2BlockImpl& block, const ModelConfig& config,
                                                   decode::WeightType weights);

}  // namespace mts
