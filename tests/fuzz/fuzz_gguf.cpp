// libFuzzer: the GGUF reader must reject any malformed bytes with FormatError, never crash.
#include <cstddef>
#include <cstdint>

#include "mts/core/formats/gguf.h"
#include "mts/core/runtime/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto f = mts::gguf::parse(data, size, "fuzz.gguf");
        for (auto& [name, t] : f.tensors) (void)t.to(torch::kFloat32).sum();
    } catch (const mts::FormatError&) {
    }
    return 0;
}
