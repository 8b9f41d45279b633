// Loading and saving whole models (config.json + weights + tokenizer). Loading is strict: the
// file's key set must equal the model's parameters, shapes must match, nothing is left at its
// random initialisation.
#include "mts/core/formats/model_io.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "formats/model_io_internal.h"
#include "mts/core/formats/hf_config.h"
#include "mts/core/formats/safetensors.h"
#include "mts/core/model/model_factory.h"
#include "mts/core/model/parameter_count.h"
#include "mts/core/runtime/durable_file.h"
#include "mts/core/runtime/errors.h"

namespace mts {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char kEmbeddingKey[] = "backbone.embeddings.weight";

std::string shapeStr(c10::IntArrayRef s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

bool isStepDir(const std::string& name) {
    if (name.size() <= 5 || name.compare(0, 5, "step-") != 0) return false;
    return std::all_of(name.begin() + 5, name.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::string trim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(i);
}

fs::path resolveRunCheckpoint(const fs::path& runDir) {
    const fs::path ck = runDir / "checkpoints";
    const fs::path latest = ck / "latest.txt";
    if (fs::is_regular_file(latest)) {
        std::ifstream in(latest);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string name = trim(ss.str());
        // Accept a bare folder name or a path ending in one.
        if (!name.empty()) name = fs::path(name).filename().string();
        if (name.empty() || name == "." || name == "..")
            throw FormatError(latest.string(), "does not name a checkpoint folder");
        if (!fs::is_regular_file(ck / name / "config.json"))
            throw FormatError(latest.string(), fmt::format("names checkpoint '{}', which has no config.json", name));
        return ck / name;
    }
    std::string best;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(ck, ec)) {
        const std::string n = e.path().filename().string();
        if (!isStepDir(n) || !fs::is_regular_file(e.path() / "config.json")) continue;
        // Compare numerically: widths may differ once a run passes 10^8 steps.
        auto key = [](const std::string& s) {
            std::string d = s.substr(5);
            d.erase(0, std::min(d.find_first_not_of('0'), d.size() - 1));
            return std::make_pair(d.size(), d);
        };
        if (best.empty() || key(n) > key(best)) best = n;
    }
    if (best.empty()) throw FormatError(runDir.string(), "run folder has no checkpoint yet (checkpoints/ holds no step-* folder with config.json)");
    return ck / best;
}

std::string dtypeSummary(const std::set<std::string>& dtypes) {
    if (dtypes.empty()) return "none";
    if (dtypes.size() == 1) return *dtypes.begin();
    std::vector<std::string> v(dtypes.begin(), dtypes.end());
    return fmt::format("mixed ({})", fmt::join(v, ", "));
}

bool hasTokenizerFiles(const fs::path& dir) {
    return fs::is_regular_file(dir / "tokenizer.json") ||
           (fs::is_regular_file(dir / "vocab.json") && fs::is_regular_file(dir / "merges.txt"));
}

// Copies the file's tensors into the model's parameters (and any buffers the file holds).
void assignWeights(LanguageModelImpl& model, std::map<std::string, torch::Tensor>& weights,
                   const std::map<std::string, std::string>& sources, const std::string& fallbackFile) {
    torch::NoGradGuard noGrad;
    auto params = model.named_parameters(true);
    auto buffers = model.named_buffers(true);
    auto fileOf = [&](const std::string& k) {
        auto it = sources.find(k);
        return it == sources.end() ? fallbackFile : it->second;
    };
    // A tied head is stored by some writers (the HF fixture does): it must be the embedding's shape.
    if (!params.contains("lm_head.weight") && weights.count("lm_head.weight") && weights.count(kEmbeddingKey)) {
        if (weights.at("lm_head.weight").sizes() != weights.at(kEmbeddingKey).sizes())
            throw FormatError(fileOf("lm_head.weight"), fmt::format("tied lm_head.weight has shape {} but the embedding is {}",
                                                                    shapeStr(weights.at("lm_head.weight").sizes()),
                                                                    shapeStr(weights.at(kEmbeddingKey).sizes())));
        weights.erase("lm_head.weight");
    }
    std::vector<std::string> missing;
    for (const auto& p : params)
        if (!weights.count(p.key())) missing.push_back(p.key());
    if (!missing.empty())
        throw FormatError(fallbackFile, fmt::format("missing tensor '{}'{} required by config.json", missing.front(),
                                                    missing.size() > 1 ? fmt::format(" (and {} more)", missing.size() - 1) : ""));
    for (const auto& [k, t] : weights) {
        torch::Tensor* target = params.find(k);
        if (!target) target = buffers.find(k);
        if (!target)
            throw FormatError(fileOf(k), fmt::format("unexpected tensor '{}': not part of the model config.json describes", k));
        if (t.sizes() != target->sizes())
            throw FormatError(fileOf(k), fmt::format("tensor '{}' has shape {} but config.json implies {}", k,
                                                     shapeStr(t.sizes()), shapeStr(target->sizes())));
        if (!t.is_floating_point() && target->is_floating_point())
            throw FormatError(fileOf(k), fmt::format("tensor '{}' has integer dtype {}; expected F32, F16 or BF16", k,
                                                     c10::toString(t.scalar_type())));
        target->copy_(t.to(target->scalar_type()));
    }
}

std::string configFileOf(const fs::path& dir) { return (dir / "config.json").string(); }

std::string gigabytes(double bytes) { return fmt::format("{:.1f} GB", bytes / 1e9); }

// The model config.json describes must be (about) the one the weight files hold and must fit in this
// machine's memory, checked before the model is allocated: a tiny config.json can otherwise ask
// for hundreds of GB (or sizes whose product overflows).
void checkImpliedSize(const ModelConfig& config, const std::map<std::string, torch::Tensor>& weights,
                      const std::string& cfgFile, const std::string& weightFile) {
    const std::optional<int64_t> implied = checkedParameterCount(config);
    if (!implied)
        throw FormatError(cfgFile, fmt::format("the sizes (d_model {}, n_layer {}, expand {}, vocab_size {}) imply more "
                                               "than 2^63 parameters",
                                               config.dModel, config.nLayer, config.expand, config.vocabSize));
    int64_t stored = 0;
    for (const auto& [k, t] : weights) {
        if (k == "lm_head.weight" && config.tieEmbeddings) continue;
        if (__builtin_add_overflow(stored, t.numel(), &stored)) stored = std::numeric_limits<int64_t>::max();
    }
    // A small mismatch is left to the per-tensor checks, which name the tensor; one that would
    // allocate more than kSlack parameters the files cannot fill is refused here, before.
    constexpr int64_t kSlack = int64_t(16) << 20;  // 64 MB of fp32
    if (*implied > stored && *implied - stored > kSlack)
        throw FormatError(cfgFile, fmt::format("describes a model of {} parameters, but the weight files ({}) hold only "
                                               "{}: config.json does not belong to these weights",
                                               *implied, weightFile, stored));
    const int64_t memory = physicalMemoryBytes();
    const double need = 4.0 * static_cast<double>(*implied);  // fp32 parameters
    if (memory > 0 && need > static_cast<double>(memory))
        throw FormatError(cfgFile, fmt::format("the model needs {} for its fp32 weights; this machine has {}",
                                               gigabytes(need), gigabytes(static_cast<double>(memory))));
}

}  // namespace

fs::path resolveModelDir(const fs::path& path) {
    std::error_code ec;
    if (path.empty()) throw FormatError("", "no model path given");
    if (!fs::exists(path, ec)) throw FormatError(path.string(), "no such file or folder");
    fs::path p = path;
    if (fs::is_regular_file(p)) {
        const std::string ext = p.extension().string();
        if (p.filename() == "config.json" || ext == ".safetensors" || ext == ".json" || ext == ".bin")
            p = p.has_parent_path() ? p.parent_path() : fs::path(".");
        else
            throw FormatError(path.string(), "expected a model folder (holding config.json), not a file");
    }
    if (!fs::is_directory(p)) throw FormatError(path.string(), "not a folder");
    if (fs::is_directory(p / "checkpoints")) return resolveRunCheckpoint(p);
    if (fs::is_regular_file(p / "config.json")) return p;
    throw FormatError(path.string(), "not a model folder: no config.json (and no checkpoints/ folder of a run)");
}

std::unique_ptr<Tokenizer> loadModelTokenizer(const fs::path& path) {
    std::error_code ec;
    if (path.empty()) throw FormatError("", "no tokenizer path given");
    if (!fs::exists(path, ec)) throw FormatError(path.string(), "no such file or folder");
    if (fs::is_regular_file(path) && path.filename() != "config.json") return loadTokenizer(path);
    if (fs::is_directory(path) && hasTokenizerFiles(path)) return loadTokenizer(path);
    if (fs::is_directory(path) && !fs::exists(path / "config.json", ec) && !fs::is_directory(path / "checkpoints", ec))
        throw FormatError(path.string(), "holds no tokenizer.json (nor vocab.json + merges.txt) and is not a model, "
                                         "checkpoint or run folder");
    const fs::path dir = resolveModelDir(path);
    if (hasTokenizerFiles(dir)) return loadTokenizer(dir);
    return makeByteTokenizer();
}

LoadedModel loadModel(const fs::path& path, torch::Device device) {
    LoadedModel out;
    out.dir = resolveModelDir(path);
    const std::string cfgFile = configFileOf(out.dir);
    CheckpointConfig cc = readCheckpointConfig(out.dir / "config.json");
    out.layout = cc.layout;
    if (!checkedParameterCount(cc.config))  // before any arithmetic on its sizes
        throw FormatError(cfgFile, fmt::format("the sizes (d_model {}, n_layer {}, expand {}, vocab_size {}) imply more "
                                               "than 2^63 parameters",
                                               cc.config.dModel, cc.config.nLayer, cc.config.expand, cc.config.vocabSize));

    std::map<std::string, std::string> rawSources;
    auto raw = readModelWeights(out.dir, &rawSources);
    std::map<std::string, torch::Tensor> weights;
    std::map<std::string, std::string> sources;
    std::set<std::string> dtypes;
    std::string weightFile = rawSources.empty() ? cfgFile : rawSources.begin()->second;
    for (auto& [k, t] : raw) {
        const std::string key = cc.layout == "studio" ? k : detail::canonicalKey(k);
        if (weights.count(key)) throw FormatError(rawSources[k], fmt::format("tensor '{}' is stored under two names", key));
        dtypes.insert(safetensorsDtypeName(t.scalar_type(), rawSources[k]));
        sources[key] = rawSources[k];
        weights[key] = std::move(t);
    }
    raw.clear();
    if (auto idx = out.dir / "model.safetensors.index.json"; !fs::is_regular_file(out.dir / "model.safetensors") && fs::is_regular_file(idx))
        weightFile = idx.string();
    out.storedDtype = dtypeSummary(dtypes);

    if (hasTokenizerFiles(out.dir)) {
        out.tokenizer = std::shared_ptr<Tokenizer>(loadTokenizer(out.dir));
    } else {
        out.tokenizer = std::shared_ptr<Tokenizer>(makeByteTokenizer());
    }

    ModelConfig& config = cc.config;
    if (cc.layout != "studio" && (config.arch == Architecture::Mamba || config.arch == Architecture::Mamba2)) {
        auto it = weights.find(kEmbeddingKey);
        if (it == weights.end()) throw FormatError(weightFile, fmt::format("missing tensor '{}'", kEmbeddingKey));
        if (it->second.dim() != 2)
            throw FormatError(sources[kEmbeddingKey], fmt::format("'{}' must be 2-D, has shape {}", kEmbeddingKey, shapeStr(it->second.sizes())));
        const int64_t rows = it->second.size(0);
        detail::reconcileVocab(config, rows, cfgFile);
        // The tokenizer's own size is the real vocabulary when the config records the padded one.
        if (hasTokenizerFiles(out.dir)) {
            const int64_t tv = out.tokenizer->vocabSize();
            ModelConfig probe = config;
            probe.vocabSize = tv;
            if (tv > 0 && tv < config.vocabSize && probe.paddedVocab() == rows) config.vocabSize = tv;
        }
    }
    if (out.tokenizer->vocabSize() > config.paddedVocab()) {
        // The byte tokenizer is the default for folders without one (the HF fixture has 256
        // rows): its only extra id is <|endoftext|>, so the model still works on plain bytes.
        if (out.tokenizer->kind() != "byte")
            throw FormatError(cfgFile, fmt::format("the tokenizer has {} ids but the model's embedding only {} rows",
                                                   out.tokenizer->vocabSize(), config.paddedVocab()));
        spdlog::warn("{}: the byte tokenizer has {} ids, the model {} rows; <|endoftext|> cannot be used",
                     out.dir.string(), out.tokenizer->vocabSize(), config.paddedVocab());
    }

    checkImpliedSize(config, weights, cfgFile, weightFile);
    try {
        out.model = createModel(config);
    } catch (const ConfigError& e) {
        throw FormatError(cfgFile, e.what());
    }
    assignWeights(*out.model, weights, sources, weightFile);
    out.model->to(device);
    out.model->eval();
    return out;
}

ModelInfo inspectModel(const fs::path& path) {
    ModelInfo info;
    info.dir = resolveModelDir(path);
    const std::string cfgFile = configFileOf(info.dir);
    CheckpointConfig cc = readCheckpointConfig(info.dir / "config.json");
    info.layout = cc.layout;
    std::map<std::string, std::string> sources;
    auto headers = detail::readWeightHeaders(info.dir, sources);
    std::set<std::string> dtypes, files;
    std::map<std::string, SafetensorsTensorInfo> canon;
    for (auto& [k, h] : headers) canon[cc.layout == "studio" ? k : detail::canonicalKey(k)] = h;
    for (const auto& [k, h] : canon) {
        dtypes.insert(h.dtype);
        info.weightBytes += static_cast<int64_t>(h.end - h.begin);
        if (k == "lm_head.weight" && cc.config.tieEmbeddings) continue;
        int64_t n = 1;
        for (int64_t d : h.shape) n *= d;
        info.numParameters += n;
    }
    for (const auto& [k, f] : sources) files.insert(f);
    for (const auto& f : files)
        if (!f.empty()) info.weightFiles.emplace_back(f);
    info.storedDtype = dtypeSummary(dtypes);
    if (cc.layout != "studio" && (cc.config.arch == Architecture::Mamba || cc.config.arch == Architecture::Mamba2)) {
        auto it = canon.find(kEmbeddingKey);
        if (it == canon.end() || it->second.shape.size() != 2)
            throw FormatError(info.weightFiles.empty() ? cfgFile : info.weightFiles.front().string(),
                              fmt::format("missing 2-D tensor '{}'", kEmbeddingKey));
        detail::reconcileVocab(cc.config, it->second.shape[0], cfgFile);
    }
    info.config = cc.config;
    if (fs::is_regular_file(info.dir / "tokenizer.json")) info.tokenizerSource = "tokenizer.json";
    else if (hasTokenizerFiles(info.dir)) info.tokenizerSource = "vocab.json + merges.txt";
    else info.tokenizerSource = "none (byte tokenizer)";
    return info;
}

void saveModel(const fs::path& dir, LanguageModelImpl& model, const Tokenizer* tokenizer) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw FormatError(dir.string(), "cannot create folder: " + ec.message());
    const ModelConfig& c = model.config();
    json j;
    if (c.arch == Architecture::Mamba || c.arch == Architecture::Mamba2) {
        SpecialIds ids;
        if (tokenizer) ids.eos = tokenizer->eosId();
        j = c.arch == Architecture::Mamba ? toHfMambaConfig(c, ids, /*allowVariants=*/true) : toHfMamba2Config(c, ids);
    } else {
        j["architectures"] = {"Mts" + toString(c.arch)};
        j["model_type"] = "mts-" + toString(c.arch);
    }
    j["mts_config"] = c.toJson();

    std::map<std::string, torch::Tensor> tensors;
    for (const auto& p : model.named_parameters(true)) tensors[p.key()] = p.value().detach();
    writeSafetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
    if (tokenizer) tokenizer->save(dir / "tokenizer.json");
    // config.json last: a folder with config.json is taken as complete by resolveModelDir.
    try {
        writeFileAtomic(dir / "config.json", j.dump(2) + "\n");
    } catch (const std::runtime_error& e) {
        throw FormatError((dir / "config.json").string(), e.what());
    }
}

}  // namespace mts
