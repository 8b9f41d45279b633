#pragma once
// One entry point per fuzz target, two builds:
//   - preset "fuzz" (libFuzzer): MTS_FUZZ_TARGET(name) is LLVMFuzzerTestOneInput;
//   - the normal test build (MTS_FUZZ_REPLAY defined): it is mtsFuzz_<name>, which the replay
//     test (tests/core/test_fuzz_replay.cpp) runs over tests/fuzz/corpus/<name>/, so the seed
//     corpora and every crash found stay in CI.
// A target returns 0; anything else (a crash, an escaping exception) is a finding.
#include <cstddef>
#include <cstdint>

#ifdef MTS_FUZZ_REPLAY
#define MTS_FUZZ_TARGET(name) extern "C" int mtsFuzz_##name(const uint8_t* data, size_t size)
#else
#define MTS_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
#endif
