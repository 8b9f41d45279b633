#pragma once
// The matrix-vector row kernels of decode_cpu.cpp, compiled per ISA in decode_cpu_isa.cpp.
// Raw pointers only: rows [r0, r1) of a packed matrix (rowBytes apart) times x into y[r0..r1).
#include <cstdint>

namespace mts::decode::isa {

// x: fp32 (cols) for F32/Bf16/F16; a Q8Vector (cols a multiple of 32) for Q8.
using RowKernel = void (*)(const uint8_t* w, int64_t rowBytes, const void* x, float* y, int64_t r0, int64_t r1,
                           int64_t cols);

/// x rounded to Q8_0 blocks (llama.cpp layout, 34 bytes each) plus their scales widened to fp32
/// once per product (not once per row).
struct Q8Vector {
    const uint8_t* blocks;
    const float* scales;
};

/// One (head, channel) row of Mamba-2's SSD step over n state entries:
/// s[j] = decay * s[j] + dtx * b[j]; returns sum_j s[j] * c[j].
using SsdRowKernel = float (*)(float* s, const float* b, const float* c, float decay, float dtx, int64_t n);

struct RowKernels {
    RowKernel f32, bf16, f16, q8;
    SsdRowKernel ssdRow;
    const char* name;
};

/// The kernels for the ISA scan_cpu::activeIsa() names (AVX2 kernels serve "avx512" too).
RowKernels rowKernels();

float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);

}  // namespace mts::decode::isa
