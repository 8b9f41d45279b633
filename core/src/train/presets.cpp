#include "mts/core/train/presets.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include <unistd.h>

#include "mts/core/model/architectures.h"
#include "mts/core/runtime/errors.h"
#include "mts/core/runtime/runtime.h"
#include "runtime/json_file.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mts {

namespace {

fs::path exeDir() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

// The source tree this was built from (core/CMakeLists.txt defines it for this file only).
fs::path sourceResources() { return fs::path(MTS_SOURCE_RESOURCES_DIR); }

json readJsonFile(const fs::path& file) {
    const json j = detail::readJsonFile(file, "the presets file", uint64_t(16) << 20);
    if (!j.is_object() || !j.contains("presets") || !j.at("presets").is_object())
        throw FormatError(file.string(), "expected an object with a \"presets\" object");
    for (auto& [name, entry] : j.at("presets").items())
        if (!entry.is_object()) throw FormatError(file.string(), "preset '" + name + "' is not an object");
    return j.at("presets");
}

void overlayFile(json& section, const fs::path& file) {
    if (!fs::exists(file)) return;
    const json presets = readJsonFile(file);  // named: items() of a temporary would dangle
    for (auto& [name, entry] : presets.items()) section[name] = entry;
}

std::vector<std::string> names(const json& section) {
    std::vector<std::string> out;
    for (auto& [name, v] : section.items()) out.push_back(name);
    return out;
}

const json& pick(const json& section, const std::string& name, const char* what) {
    if (!section.contains(name)) {
        std::string avail;
        for (auto& n : names(section)) avail += (avail.empty() ? "" : ", ") + n;
        throw ConfigError(std::string(what) + ": unknown preset '" + name + "' (available: " + avail + ")");
    }
    return section.at(name);
}

}  // namespace

fs::path resourcesDir() {
    std::vector<fs::path> candidates;
    if (const char* env = std::getenv("MTS_RESOURCES_DIR"); env && *env) candidates.emplace_back(env);
    if (auto dir = exeDir(); !dir.empty()) candidates.push_back(dir / ".." / "share" / "mamba-studio");
    candidates.push_back(sourceResources());
    std::string tried;
    for (auto& c : candidates) {
        if (fs::is_directory(c / "presets")) return c.lexically_normal();
        tried += (tried.empty() ? "" : ", ") + c.string();
    }
    throw std::runtime_error("no resources folder with presets/ found (looked in " + tried +
                             "); set MTS_RESOURCES_DIR");
}

fs::path userPresetsDir() {
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg)
        return fs::path(xdg) / "mamba-studio" / "presets";
    if (const char* home = std::getenv("HOME"); home && *home)
        return fs::path(home) / ".config" / "mamba-studio" / "presets";
    return {};
}

void PresetCatalog::overlay(const fs::path& dir) {
    overlayFile(models, dir / "models.json");
    overlayFile(memoryTiers, dir / "memory_tiers.json");
    overlayFile(training, dir / "training.json");
}

PresetCatalog PresetCatalog::loadFrom(const fs::path& dir) {
    PresetCatalog c;
    c.overlay(dir);
    return c;
}

PresetCatalog PresetCatalog::load() {
    PresetCatalog c = loadFrom(resourcesDir() / "presets");
    if (auto user = userPresetsDir(); !user.empty() && fs::is_directory(user)) c.overlay(user);
    return c;
}

std::vector<std::string> PresetCatalog::modelNames() const { return names(models); }
std::vector<std::string> PresetCatalog::memoryTierNames() const { return names(memoryTiers); }
std::vector<std::string> PresetCatalog::trainingNames() const { return names(training); }

std::string detectMemoryTier(const PresetCatalog& catalog, bool cuda, int64_t deviceMemoryBytes, bool cpuBf16) {
    const auto has = [&](const std::string& name) { return catalog.memoryTiers.contains(name); };
    if (cuda) {
        const double gib = double(deviceMemoryBytes) / double(1ull << 30);
        std::string best;
        double bestGb = -1;
        for (const auto& [name, tier] : catalog.memoryTiers.items()) {
            if (!tier.is_object() || tier.value("device", std::string("cpu")) != "cuda") continue;
            const double gb = tier.value("memory_gb", 0.0);
            if (gb <= gib + 0.5 && gb > bestGb) {
                bestGb = gb;
                best = name;
            }
        }
        if (!best.empty()) return best;
    }
    if (cpuBf16 && has("cpu-bf16")) return "cpu-bf16";
    return "cpu";
}

namespace {

std::string resolveTier(const PresetCatalog& catalog, const std::string& tier) {
    if (tier != "auto") return tier;
    const RuntimeInfo& info = runtimeInfo();
    return detectMemoryTier(catalog, info.cuda, info.deviceMemoryBytes, info.cpuBf16);
}

}  // namespace

TrainConfig composeConfig(const PresetCatalog& catalog, const PresetChoice& choice) {
    json cfg = TrainConfig{}.toJson();
    const json& training = pick(catalog.training, choice.training, "train-preset");
    if (training.contains("config")) mergeJson(cfg, training.at("config"));
    // A training preset may fix the effective batch ("batch_sequences", not a TrainConfig key):
    // the tier still sets micro_batch (what fits), and grad_accum makes up the rest.
    int64_t batchSequences = 0;
    if (cfg.contains("batch_sequences")) {
        if (!cfg["batch_sequences"].is_number_integer() || cfg["batch_sequences"].get<int64_t>() < 1)
            throw ConfigError("train-preset '" + choice.training + "': batch_sequences must be an integer >= 1");
        batchSequences = cfg["batch_sequences"].get<int64_t>();
        cfg.erase("batch_sequences");
    }

    const json& tier = pick(catalog.memoryTiers, resolveTier(catalog, choice.memoryTier), "memory-tier");
    for (const char* key : {"micro_batch", "grad_accum", "precision", "grad_checkpointing", "device"})
        if (tier.contains(key)) cfg[key] = tier.at(key);
    if (batchSequences > 0 && cfg["micro_batch"].is_number_integer()) {
        const int64_t micro = std::max<int64_t>(1, cfg["micro_batch"].get<int64_t>());
        cfg["micro_batch"] = std::min(micro, batchSequences);
        cfg["grad_accum"] = std::max<int64_t>(1, (batchSequences + micro - 1) / micro);
    }

    const json& model = pick(catalog.models, choice.model, "model-preset");
    // An architecture without its own entry borrows the sizes of the one it is listed with.
    std::string sizesFrom = choice.arch;
    if (!model.contains(sizesFrom)) {
        const ArchitectureInfo& info = architectureInfo(architectureFromString(choice.arch));
        if (!info.presetSizesFrom.empty()) sizesFrom = info.presetSizesFrom;
    }
    if (!model.contains(sizesFrom))
        throw ConfigError("model-preset: '" + choice.model + "' has no entry for arch '" + choice.arch + "'");
    json m = ModelConfig{}.toJson();
    mergeJson(m, model.at(sizesFrom));
    m["arch"] = choice.arch;
    // A training preset's "model" keys (dropout) are regularisation, kept over the size preset.
    if (training.contains("config") && training.at("config").contains("model"))
        mergeJson(m, training.at("config").at("model"));
    cfg["model"] = m;
    try {
        return TrainConfig::fromJson(cfg);
    } catch (const ConfigError& e) {
        throw ConfigError(std::string("presets (") + choice.training + ", " + choice.memoryTier + ", " +
                          choice.model + "): " + e.what());
    }
}

int64_t memoryTierBytes(const PresetCatalog& catalog, const std::string& tier) {
    const json& t = pick(catalog.memoryTiers, resolveTier(catalog, tier), "memory-tier");
    double gb = t.value("memory_gb", 0.0);
    return static_cast<int64_t>(gb * 1024.0 * 1024.0 * 1024.0);
}

}  // namespace mts
