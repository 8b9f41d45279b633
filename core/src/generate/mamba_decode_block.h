#pragma once
// The fused batch-1 step of one Mamba-1 block (see decode_block.h).
#include <memory>

#include "mts/core/generate/decode_block.h"
#include "mts/core/kernels/decode_cpu.h"
#include "mts/core/model/mamba.h"

namespace mts {

/// Makes the decode block of `block` (a MambaLM block, CPU) with its large matrices in `weights`.
std::unique_ptr<DecodeBlock> makeMambaDecodeBlock(MambaBlockImpl& block, const ModelConfig& config,
                                                  decode::WeightType weights);

}  // namespace mts
