// libFuzzer: trainer_state.json (the counters of a run and its TrainConfig), as resume reads it.
// Only FormatError may escape; what is accepted must validate or say why not (ConfigError).
#include <string_view>

#include "fuzz_entry.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/train/checkpoint.h"

MTS_FUZZ_TARGET(trainer_state) {
    try {
        const auto parsed = mts::parseTrainerStateJson(
            std::string_view(reinterpret_cast<const char*>(data), size), "trainer_state.json");
        (void)parsed.config.toJson().dump();
        (void)mts::trainerStateJson(parsed.state, parsed.config).dump();
        try {
            parsed.config.validate();
        } catch (const mts::ConfigError&) {
        }
    } catch (const mts::FormatError&) {
    }
    return 0;
}
