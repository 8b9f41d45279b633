#pragma once
// Shared helpers for the trainer tests: a tiny corpus and a tiny, fast config.
#include <filesystem>
#include <fstream>
#include <string>

#include "mts/core/train/train_config.h"

namespace mts::test {

/// Writes a small, repetitive English text (about `bytes` bytes) to dir/name and returns its path.
inline std::filesystem::path writeTinyCorpus(const std::filesystem::path& dir, size_t bytes = 6000,
                                             const std::string& name = "tiny.txt") {
    static const char* kLines[] = {
        "the quick brown fox jumps over the lazy dog.\n",
        "a small model learns a small text by heart.\n",
        "to be or not to be, that is the question.\n",
        "all that glitters is not gold.\n",
    };
    std::string text;
    for (size_t i = 0; text.size() < bytes; ++i) text += kLines[i % 4];
    text.resize(bytes);
    auto path = dir / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

/// A tiny Mamba (or Transformer) config: trains a step in milliseconds on one core.
inline TrainConfig tinyConfig(const std::filesystem::path& data, Architecture arch = Architecture::Mamba) {
    TrainConfig c;
    c.data = data.string();
    c.model.arch = arch;
    c.model.dModel = 32;
    c.model.nLayer = 2;
    c.model.dState = 8;
    c.model.nHead = 2;
    c.model.maxSeqLen = 64;
    c.seqLen = 32;
    c.microBatch = 4;
    c.gradAccum = 1;
    c.maxSteps = 10;
    c.lr = 3e-3;
    c.warmupSteps = 2;
    c.logEvery = 5;
    c.evalEvery = 0;
    c.evalBatches = 2;
    c.sampleEvery = 0;
    c.checkpointEvery = 0;
    c.keepBest = false;
    c.device = "cpu";
    c.seed = 7;
    return c;
}

}  // namespace mts::test
