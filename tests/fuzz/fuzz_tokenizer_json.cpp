// libFuzzer: loadTokenizer on a tokenizer.json with arbitrary content. Anything it accepts must
// then encode and decode a sample without crashing.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "fuzz_entry.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"

MTS_FUZZ_TARGET(tokenizer_json) {
    static const std::filesystem::path file =
        std::filesystem::temp_directory_path() / ("mts-fuzz-tokenizer-" + std::to_string(::getpid()) + ".json");
    {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    try {
        auto tok = mts::loadTokenizer(file);
        const std::string sample = "Hello  world\n\tcaf\xc3\xa9 <|endoftext|> \xf0\x9f\x99\x82 12345 it's";
        auto ids = tok->encode(sample);
        (void)tok->decode(ids);
        for (int32_t id = -1; id < 300; ++id) (void)tok->tokenBytes(id);
    } catch (const mts::FormatError&) {
    }
    return 0;
}
