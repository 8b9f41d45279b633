// libFuzzer: config.json (all three layouts) and model.safetensors.index.json interpretation.
// Only FormatError may escape the parsers; JSON syntax errors are the JSON library's concern and
// are turned into FormatError by the file-reading wrappers.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "formats/config_reader.h"
#include "formats/model_io_internal.h"
#include "fuzz_entry.h"
#include "mts/core/formats/hf_config.h"
#include "mts/core/runtime/errors.h"

MTS_FUZZ_TARGET(config_json) {
    // As readCheckpointConfig reads it: Python's Infinity / NaN quoted first.
    const std::string text = mts::detail::quotePythonJsonConstants(std::string(reinterpret_cast<const char*>(data), size));
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return 0;
    try {
        auto c = mts::parseCheckpointConfig(j, "config.json");
        (void)c.config.paddedVocab();
        if (c.config.arch == mts::Architecture::Mamba2)
            (void)mts::toHfMamba2Config(c.config, {});
        else
            (void)mts::toHfMambaConfig(c.config, {}, true);
    } catch (const mts::FormatError&) {
    } catch (const mts::ConfigError&) {  // toHfMambaConfig on a non-Mamba config
    }
    try {
        // An empty folder: every shard is missing, so this exercises the index checks only.
        (void)mts::detail::parseIndexJson(j, "/nonexistent-mts-fuzz-dir", "model.safetensors.index.json");
    } catch (const mts::FormatError&) {
    }
    return 0;
}
