#include "mts/core/model/parameter_count.h"

#include <unistd.h>

namespace mts {

namespace {

// int64 arithmetic that remembers an overflow instead of wrapping.
struct Checked {
    int64_t v = 0;
    bool bad = false;
};
Checked num(int64_t v) { return {v, false}; }
Checked operator*(Checked a, Checked b) {
    Checked r;
    r.bad = a.bad || b.bad || __builtin_mul_overflow(a.v, b.v, &r.v);
    return r;
}
Checked operator+(Checked a, Checked b) {
    Checked r;
    r.bad = a.bad || b.bad || __builtin_add_overflow(a.v, b.v, &r.v);
    return r;
}
Checked operator*(int64_t a, Checked b) { return num(a) * b; }
Checked operator+(Checked a, int64_t b) { return a + num(b); }

}  // namespace

std::optional<int64_t> checkedParameterCount(const ModelConfig& c) {
    const Checked d = num(c.dModel);
    Checked v = num(c.vocabSize);
    if (c.padVocabMultiple > 1) {
        const Checked up = v + (c.padVocabMultiple - 1);
        if (up.bad) return std::nullopt;
        v = num(up.v / c.padVocabMultiple) * num(c.padVocabMultiple);
    }
    Checked total = v * d;  // token embedding
    const Checked head = c.tieEmbeddings ? num(0) : v * d;
    switch (c.arch) {
        case Architecture::Mamba: {
            const Checked di = num(c.expand) * d, n = num(c.dState), k = num(c.dConv);
            const Checked r = num(c.dtRank > 0 ? c.dtRank : (c.dModel / 16 + (c.dModel % 16 != 0 ? 1 : 0)));
            const int64_t projBias = c.projBias ? 1 : 0;
            Checked layer = d;                                         // RMSNorm
            layer = layer + 2 * di * d + projBias * (2 * di);          // in_proj
            layer = layer + di * k + (c.convBias ? di : num(0));       // depthwise conv
            layer = layer + (r + 2 * n) * di;                          // x_proj
            layer = layer + r * di + di;                               // dt_proj
            layer = layer + di * n + di;                               // A_log, D
            layer = layer + di * d + projBias * d;                     // out_proj
            if (c.residualGate) layer = layer + d;
            if (c.blockLayerNorm) layer = layer + 2 * d;
            total = total + num(c.nLayer) * layer + d + head;          // + norm_f
            break;
        }
        case Architecture::Mamba2: {
            const Checked di = num(c.expand) * d, gn = num(c.nGroups) * num(c.dState), k = num(c.dConv);
            if (di.bad || c.headDim <= 0) return std::nullopt;
            const Checked h = num(di.v / c.headDim);
            const Checked proj = 2 * di + 2 * gn + h, conv = di + 2 * gn;
            const int64_t projBias = c.projBias ? 1 : 0;
            Checked layer = d;                                         // RMSNorm
            layer = layer + proj * d + projBias * proj;                // in_proj: z, x, B, C, dt
            layer = layer + conv * k + (c.convBias ? conv : num(0));   // depthwise conv over x, B, C
            layer = layer + 3 * h;                                     // dt_bias, A_log, D
            layer = layer + di;                                        // gated RMSNorm
            layer = layer + di * d + projBias * d;                     // out_proj
            total = total + num(c.nLayer) * layer + d + head;          // + norm_f
            break;
        }
        case Architecture::Transformer:
        case Architecture::Attention1: {
            const Checked m = num(c.mlpRatio) * d;
            Checked layer = 2 * d + (3 * d * d + 3 * d) + (d * d + d);  // ln_1, attention
            if (c.arch == Architecture::Transformer) layer = layer + 2 * d + (d * m + m) + (m * d + d);  // ln_2, MLP
            const Checked layers = num(c.arch == Architecture::Transformer ? c.nLayer : 1);
            total = total + layers * layer + 2 * d + head;  // + ln_f
            if (c.positions == "learned") total = total + num(c.maxSeqLen) * d;
            break;
        }
        case Architecture::Linear:
            total = total + v * d * num(c.context) + v + head;
            break;
        case Architecture::Moe: {
            const Checked m = num(c.mlpRatio) * d, e = num(c.nExperts);
            Checked layer = 2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d;  // ln_1, attention, ln_2
            layer = layer + e * d + e * ((d * m + m) + (m * d + d));            // router, experts
            total = total + num(c.nLayer) * layer + 2 * d + head;               // + ln_f
            if (c.positions == "learned") total = total + num(c.maxSeqLen) * d;
            break;
        }
    }
    if (total.bad) return std::nullopt;
    return total.v;
}

int64_t physicalMemoryBytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return 0;
    int64_t bytes = 0;
    if (__builtin_mul_overflow(static_cast<int64_t>(pages), static_cast<int64_t>(page), &bytes)) return 0;
    return bytes;
}

}  // namespace mts
