// libFuzzer: a corpus folder (manifest.json + train.bin + val.bin, with a valid byte tokenizer)
// as training opens it. Input: 2 bytes little-endian manifest length, the manifest, 4 bytes
// train.bin length, train.bin, and the rest is val.bin (lengths are clamped to what is left).
// Only FormatError may escape openCorpus / readCorpusInfo; what they accept must read back.
#include <algorithm>
#include <vector>

#include "fuzz_entry.h"
#include "fuzz_scratch.h"
#include "mts/core/corpus/corpus.h"
#include "mts/core/corpus/corpus_info.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/tokenize/tokenizer.h"

namespace {
// The next `n` bytes (clamped), advancing the cursor.
std::pair<const uint8_t*, size_t> take(const uint8_t*& p, size_t& left, size_t n) {
    n = std::min(n, left);
    const uint8_t* start = p;
    p += n;
    left -= n;
    return {start, n};
}
size_t le(const uint8_t*& p, size_t& left, int bytes) {
    size_t v = 0;
    for (int i = 0; i < bytes && left > 0; ++i, ++p, --left) v |= static_cast<size_t>(*p) << (8 * i);
    return v;
}
}  // namespace

MTS_FUZZ_TARGET(corpus) {
    static const mts::fuzz::Scratch scratch("corpus");
    static const bool tokenizerWritten = [] {
        mts::makeByteTokenizer()->save(scratch.dir() / "tokenizer.json");
        return true;
    }();
    (void)tokenizerWritten;
    const uint8_t* p = data;
    size_t left = size;
    const auto manifest = take(p, left, le(p, left, 2));
    const auto train = take(p, left, le(p, left, 4));
    scratch.write("manifest.json", manifest.first, manifest.second);
    scratch.write("train.bin", train.first, train.second);
    scratch.write("val.bin", p, left);
    try {
        (void)mts::readCorpusInfo(scratch.dir());
    } catch (const mts::FormatError&) {
    }
    try {
        mts::Corpus c = mts::openCorpus(scratch.dir(), /*verifyIds=*/true);
        std::vector<int64_t> buf(16);
        for (const mts::TokenFile* f : {&c.train, &c.val}) {
            const uint64_t n = std::min<uint64_t>(f->size(), buf.size());
            if (n > 0) f->read(f->size() - n, n, buf.data());
        }
    } catch (const mts::FormatError&) {
    }
    return 0;
}
