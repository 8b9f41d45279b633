// libFuzzer: a GPT-2 style vocab.json + merges.txt pair. The input is vocab.json, a NUL byte,
// then merges.txt (no NUL: all of it is vocab.json and merges.txt is empty). Only FormatError
// may escape loadTokenizer; what it accepts must encode and decode a sample.
#include <cstring>
#include <string>

#include "fuzz_entry.h"
#include "fuzz_scratch.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"

MTS_FUZZ_TARGET(vocab_merges) {
    static const mts::fuzz::Scratch scratch("vocab-merges");
    // memchr on an empty input (data may be null) is undefined: found by UBSan.
    const auto* nul = size ? static_cast<const uint8_t*>(std::memchr(data, 0, size)) : nullptr;
    const size_t vocabSize = nul ? static_cast<size_t>(nul - data) : size;
    scratch.write("vocab.json", data, vocabSize);
    const size_t rest = nul ? size - vocabSize - 1 : 0;
    scratch.write("merges.txt", nul ? nul + 1 : data, rest);
    try {
        auto tok = mts::loadTokenizer(scratch.dir());
        const std::string sample = "Hello  world\n\tcaf\xc3\xa9 <|endoftext|> \xf0\x9f\x99\x82 12345 it's";
        auto ids = tok->encode(sample);
        (void)tok->decode(ids);
        for (int32_t id = -1; id < 300; ++id) (void)tok->tokenBytes(id);
    } catch (const mts::FormatError&) {
    }
    return 0;
}
