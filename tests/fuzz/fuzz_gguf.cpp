// libFuzzer: the GGUF reader must reject any malformed bytes with FormatError, never crash.
#include <cstddef>
#include <cstdint>

#include "fuzz_entry.h"
#include "mts/core/formats/gguf.h"
#include "mts/core/runtime/errors.h"

MTS_FUZZ_TARGET(gguf) {
    try {
        auto f = mts::gguf::parse(data, size, "fuzz.gguf");
        for (auto& [name, t] : f.tensors) (void)t.to(torch::kFloat32).sum();
    } catch (const mts::FormatError&) {
    }
    return 0;
}
