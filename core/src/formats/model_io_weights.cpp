// Finding and reading a model folder's weight files: one safetensors file, a sharded set with
// its index, or a PyTorch pickle where LibTorch can read it.
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/serialize.h>

#include "formats/model_io_internal.h"
#include "mts/core/formats/model_io.h"
#include "mts/core/runtime/errors.h"
#include "runtime/json_file.h"

namespace mts {
namespace detail {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const char kConvertHint[] =
    "convert it to safetensors, e.g. in Python: "
    "from safetensors.torch import save_file; import torch; "
    "save_file(torch.load('pytorch_model.bin'), 'model.safetensors')";

bool plainFileName(const std::string& name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
           name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

WeightFiles readIndex(const fs::path& dir, const fs::path& index) {
    return parseIndexJson(detail::readJsonFile(index, "the safetensors index"), dir, index.string());
}

// Each shard must hold exactly the keys the index assigns to it.
void checkShard(const WeightFiles& wf, const fs::path& shard, const std::set<std::string>& keys) {
    const std::string name = shard.filename().string();
    for (const auto& k : keys) {
        auto it = wf.weightMap.find(k);
        if (it == wf.weightMap.end())
            throw FormatError(shard.string(), fmt::format("tensor '{}' is not listed in {}", k, wf.index.filename().string()));
        if (it->second != name)
            throw FormatError(shard.string(), fmt::format("tensor '{}' is listed in {} under shard '{}'", k,
                                                          wf.index.filename().string(), it->second));
    }
    for (const auto& [k, s] : wf.weightMap)
        if (s == name && !keys.count(k))
            throw FormatError(shard.string(), fmt::format("lacks tensor '{}' that {} assigns to it", k, wf.index.filename().string()));
}

std::map<std::string, torch::Tensor> readPytorchBin(const fs::path& bin) {
    const std::string file = bin.string();
    std::ifstream in(bin, std::ios::binary);
    if (!in) throw FormatError(file, "cannot open");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    torch::IValue v;
    try {
        v = torch::pickle_load(bytes);
    } catch (const std::exception& e) {
        std::string why = e.what();
        if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
        throw FormatError(file, fmt::format("LibTorch cannot read this PyTorch pickle ({}); {}", why, kConvertHint));
    }
    if (!v.isGenericDict()) throw FormatError(file, fmt::format("not a state dict (a {}); {}", v.tagKind(), kConvertHint));
    std::map<std::string, torch::Tensor> out;
    for (const auto& e : v.toGenericDict()) {
        if (!e.key().isString() || !e.value().isTensor())
            throw FormatError(file, fmt::format("state dict entries must be name -> tensor; {}", kConvertHint));
        out[e.key().toStringRef()] = e.value().toTensor();
    }
    return out;
}

}  // namespace

WeightFiles parseIndexJson(const json& j, const fs::path& dir, const std::string& file) {
    if (!j.is_object() || !j.contains("weight_map") || !j.at("weight_map").is_object())
        throw FormatError(file, "expected an object with a \"weight_map\" object");
    if (j.contains("metadata") && !j.at("metadata").is_object() && !j.at("metadata").is_null())
        throw FormatError(file, "\"metadata\" must be an object");
    WeightFiles wf;
    wf.kind = WeightFiles::Kind::Sharded;
    wf.index = file;
    std::set<std::string> shards;
    for (auto it = j.at("weight_map").begin(); it != j.at("weight_map").end(); ++it) {
        if (!it.value().is_string())
            throw FormatError(file, fmt::format("weight_map['{}'] must be a file name", it.key()));
        const std::string shard = it.value().get<std::string>();
        if (!plainFileName(shard))
            throw FormatError(file, fmt::format("weight_map['{}'] = '{}' is not a plain file name in the folder", it.key(), shard));
        wf.weightMap[it.key()] = shard;
        shards.insert(shard);
    }
    if (shards.empty()) throw FormatError(file, "weight_map is empty");
    for (const auto& s : shards) {
        if (!fs::is_regular_file(dir / s)) throw FormatError(file, fmt::format("shard '{}' is missing", s));
        wf.files.push_back(dir / s);
    }
    return wf;
}

WeightFiles findWeightFiles(const fs::path& dir) {
    WeightFiles wf;
    if (fs::is_regular_file(dir / "model.safetensors")) {
        wf.files.push_back(dir / "model.safetensors");
        return wf;
    }
    if (fs::is_regular_file(dir / "model.safetensors.index.json"))
        return readIndex(dir, dir / "model.safetensors.index.json");
    if (fs::is_regular_file(dir / "pytorch_model.bin")) {
        wf.kind = WeightFiles::Kind::PytorchBin;
        wf.files.push_back(dir / "pytorch_model.bin");
        return wf;
    }
    if (fs::is_regular_file(dir / "pytorch_model.bin.index.json"))
        throw FormatError((dir / "pytorch_model.bin.index.json").string(),
                          "sharded PyTorch checkpoints are not supported; convert the shards to safetensors "
                          "(transformers: model.save_pretrained(dir, safe_serialization=True))");
    throw FormatError(dir.string(), "no weights: expected model.safetensors, model.safetensors.index.json or pytorch_model.bin");
}

std::map<std::string, SafetensorsTensorInfo> readWeightHeaders(const fs::path& dir,
                                                              std::map<std::string, std::string>& sources) {
    WeightFiles wf = findWeightFiles(dir);
    std::map<std::string, SafetensorsTensorInfo> out;
    if (wf.kind == WeightFiles::Kind::PytorchBin) {
        for (const auto& [k, t] : readPytorchBin(wf.files[0])) {
            SafetensorsTensorInfo info;
            info.dtype = safetensorsDtypeName(t.scalar_type(), wf.files[0].string());
            info.shape = t.sizes().vec();
            info.end = static_cast<uint64_t>(t.numel()) * t.element_size();
            out[k] = info;
            sources[k] = wf.files[0].string();
        }
        return out;
    }
    for (const auto& f : wf.files) {
        auto h = readSafetensorsHeader(f);
        if (wf.kind == WeightFiles::Kind::Sharded) {
            std::set<std::string> keys;
            for (const auto& kv : h) keys.insert(kv.first);
            checkShard(wf, f, keys);
        }
        for (auto& [k, info] : h) {
            if (out.count(k)) throw FormatError(f.string(), fmt::format("tensor '{}' also appears in {}", k, sources[k]));
            sources[k] = f.string();
            out[k] = std::move(info);
        }
    }
    return out;
}

std::string canonicalKey(const std::string& key) {
    if (key == "backbone.embedding.weight") return "backbone.embeddings.weight";
    return key;
}

void reconcileVocab(ModelConfig& c, int64_t rows, const std::string& file) {
    if (rows <= 0) throw FormatError(file, "backbone.embeddings.weight has no rows");
    if (c.vocabSize > rows)
        throw FormatError(file, fmt::format("config.json vocab_size {} exceeds the {} rows of backbone.embeddings.weight",
                                            c.vocabSize, rows));
    if (c.paddedVocab() == rows) return;
    // Checkpoints store the padded embedding; the multiple used to pad it may not be recorded.
    c.padVocabMultiple = c.vocabSize == rows ? 1 : rows;
}

}  // namespace detail

std::map<std::string, torch::Tensor> readModelWeights(const std::filesystem::path& dir,
                                                      std::map<std::string, std::string>* sources) {
    using detail::WeightFiles;
    WeightFiles wf = detail::findWeightFiles(dir);
    std::map<std::string, torch::Tensor> out;
    std::map<std::string, std::string> src;
    if (wf.kind == WeightFiles::Kind::PytorchBin) {
        out = detail::readPytorchBin(wf.files[0]);
        for (const auto& kv : out) src[kv.first] = wf.files[0].string();
    } else {
        for (const auto& f : wf.files) {
            SafetensorsFile sf = readSafetensors(f);
            if (wf.kind == WeightFiles::Kind::Sharded) {
                std::set<std::string> keys;
                for (const auto& kv : sf.tensors) keys.insert(kv.first);
                detail::checkShard(wf, f, keys);
            }
            for (auto& [k, t] : sf.tensors) {
                if (out.count(k)) throw FormatError(f.string(), fmt::format("tensor '{}' also appears in {}", k, src[k]));
                src[k] = f.string();
                out[k] = std::move(t);
            }
        }
    }
    if (sources) *sources = std::move(src);
    return out;
}

}  // namespace mts
