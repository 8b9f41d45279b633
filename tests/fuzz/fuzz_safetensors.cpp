// libFuzzer: the safetensors reader must reject any malformed bytes with FormatError, never crash.
#include <cstddef>
#include <cstdint>

#include "fuzz_entry.h"
#include "mts/core/formats/safetensors.h"
#include "mts/core/runtime/errors.h"

MTS_FUZZ_TARGET(safetensors) {
    try {
        auto f = mts::parseSafetensors(data, size, "fuzz.safetensors");
        // Touch every tensor so a wrong size would show up under ASan.
        for (auto& [name, t] : f.tensors) (void)t.sum();
    } catch (const mts::FormatError&) {
    }
    return 0;
}
