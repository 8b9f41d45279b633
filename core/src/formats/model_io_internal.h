#pragma once
// Shared between model_io.cpp (loading/saving) and model_io_weights.cpp (finding and reading
// weight files). Not a public header.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mts/core/formats/safetensors.h"
#include "mts/core/model/model_config.h"

namespace mts::detail {

/// Where a folder's weights are.
struct WeightFiles {
    enum class Kind { Single, Sharded, PytorchBin } kind = Kind::Single;
    std::filesystem::path index;                      // Sharded: the index file
    std::vector<std::filesystem::path> files;         // Single/PytorchBin: one; Sharded: each shard once
    std::map<std::string, std::string> weightMap;     // Sharded: key -> shard file name
};

/// Interprets a parsed model.safetensors.index.json: {"weight_map": {key: shard file name}}.
/// Shard names must be plain file names that exist in dir. Throws FormatError(file).
WeightFiles parseIndexJson(const nlohmann::json& j, const std::filesystem::path& dir, const std::string& file);

/// Throws FormatError(dir) when there is no weight file, FormatError(index) for a bad index.
WeightFiles findWeightFiles(const std::filesystem::path& dir);

/// Headers of all safetensors files, keys as stored; sources gets key -> file. A PyTorch .bin
/// is read in full (it has no header).
std::map<std::string, SafetensorsTensorInfo> readWeightHeaders(const std::filesystem::path& dir,
                                                              std::map<std::string, std::string>& sources);

/// The published layouts' names -> ours (state-spaces "backbone.embedding.weight").
std::string canonicalKey(const std::string& key);

/// Makes config.paddedVocab() equal the embedding's row count for hf/state-spaces folders,
/// where config vocab_size may be padded or not. Throws FormatError(file) when impossible.
void reconcileVocab(ModelConfig& config, int64_t embeddingRows, const std::string& file);

}  // namespace mts::detail
