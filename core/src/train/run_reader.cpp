// Run folders -> RunSummary / RunMetrics (the reading side of run_dir.h).
#include "mts/core/train/run_reader.h"

#include "runtime/json_file.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <signal.h>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace mts {

namespace {

using nlohmann::json;

// The file's text and its parse, or nulls: a damaged run is shown, never fatal.
json readJson(const fs::path& file, std::string* text = nullptr) {
    const auto content = detail::readSmallFile(file, uint64_t(64) << 20);
    if (!content) return nullptr;
    std::optional<json> j = detail::tryParseJson(*content);
    if (!j) return nullptr;
    if (text) *text = *content;
    return std::move(*j);
}

double num(const json& j, const char* key, double fallback = 0) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

int64_t unixMs(fs::file_time_type t) {
    // file_time_type's clock is not system_clock in C++17: go through "now" on both clocks.
    const auto sys = std::chrono::system_clock::now() + (t - fs::file_time_type::clock::now());
    return std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
}

int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool processGone(int64_t pid) { return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH; }

void flatten(const json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    } else {
        out[prefix] = j.dump();
    }
}

}  // namespace

std::vector<fs::path> listCheckpoints(const fs::path& runDir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(runDir / "checkpoints", ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.rfind("step-", 0) == 0 && it->is_directory(ec) && fs::exists(it->path() / "config.json"))
            out.push_back(it->path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

RunMetrics readRunMetrics(const fs::path& runDir) {
    RunMetrics m;
    std::ifstream in(runDir / "metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const std::optional<json> parsed = detail::tryParseJson(line);
        const json j = parsed ? *parsed : json();
        if (!j.is_object()) {
            ++m.skippedLines;
            continue;
        }
        const std::string type = j.value("type", std::string("train"));
        const double step = num(j, "step"), tokens = num(j, "tokens");
        if (type == "eval") {
            if (j.contains("val_loss")) m.valLoss.push_back({step, tokens, num(j, "val_loss")});
        } else if (type == "train") {
            if (j.contains("loss")) m.loss.push_back({step, tokens, num(j, "loss")});
            if (j.contains("lr")) m.lr.push_back({step, tokens, num(j, "lr")});
            if (j.contains("grad_norm")) m.gradNorm.push_back({step, tokens, num(j, "grad_norm")});
            if (j.contains("tokens_per_sec")) m.tokensPerSec.push_back({step, tokens, num(j, "tokens_per_sec")});
            m.elapsedSeconds = std::max(m.elapsedSeconds, num(j, "elapsed_sec"));
        }
    }
    return m;
}

RunSummary readRunSummary(const fs::path& runDir) {
    RunSummary s;
    std::error_code ec;
    s.dir = fs::absolute(runDir, ec).lexically_normal();
    if (ec) s.dir = runDir;
    if (!s.dir.has_filename()) s.dir = s.dir.parent_path();  // "runs/a/" names "a"
    s.name = s.dir.filename().string();
    const fs::path metricsFile = s.dir / "metrics.jsonl";
    const auto modified = fs::exists(metricsFile, ec) ? fs::last_write_time(metricsFile, ec) : fs::last_write_time(s.dir, ec);
    s.modifiedUnixMs = ec ? 0 : unixMs(modified);
    const json config = readJson(s.dir / "config.json", &s.configJson);
    if (!config.is_object()) {
        s.configJson.clear();
        s.status = "empty";
        return s;
    }
    if (const json& model = config.value("model", json()); model.is_object()) s.arch = model.value("arch", std::string());
    const RunMetrics metrics = readRunMetrics(s.dir);
    if (!metrics.loss.empty()) {
        s.tokens = metrics.loss.back().tokens;
        s.steps = metrics.loss.back().step;
    }
    for (const RunMetricPoint& p : metrics.valLoss)
        if (s.bestValLoss < 0 || p.value < s.bestValLoss) s.bestValLoss = p.value;
    s.wallSeconds = metrics.elapsedSeconds;
    s.checkpoints = listCheckpoints(s.dir);
    // run.json, when the trainer wrote one, knows the status and the sizes.
    const json run = readJson(s.dir / "run.json");
    if (run.is_object()) {
        s.status = run.value("status", std::string());
        if ((s.status == "running" || s.status == "paused") && processGone(static_cast<int64_t>(num(run, "pid", -1))))
            s.status = s.checkpoints.empty() ? "interrupted" : "interrupted (saved)";
        s.params = static_cast<int64_t>(num(run, "params", -1));
        s.nonEmbeddingParams = static_cast<int64_t>(num(run, "non_embedding_params", -1));
        if (s.wallSeconds <= 0) s.wallSeconds = num(run, "elapsed_sec");
    }
    if (s.status.empty()) {
        const double maxSteps = num(config, "max_steps");
        if (maxSteps > 0 && s.steps >= maxSteps)
            s.status = "finished";
        else if (nowMs() - s.modifiedUnixMs < 30000)
            s.status = "running";
        else
            s.status = s.checkpoints.empty() ? "stopped" : "stopped (saved)";
    }
    return s;
}

std::vector<fs::path> listRunFolders(const fs::path& runsDir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(runsDir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec) && fs::exists(it->path() / "config.json")) out.push_back(it->path());
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<RunSummary> listRuns(const fs::path& runsDir, const std::atomic<bool>* cancel) {
    std::vector<RunSummary> runs;
    for (const fs::path& dir : listRunFolders(runsDir)) {
        if (cancel && cancel->load()) break;
        runs.push_back(readRunSummary(dir));
    }
    std::stable_sort(runs.begin(), runs.end(),
                     [](const RunSummary& a, const RunSummary& b) { return a.modifiedUnixMs > b.modifiedUnixMs; });
    return runs;
}

std::vector<ConfigDiffRow> diffConfigs(const std::vector<std::string>& configJsonTexts) {
    std::vector<std::map<std::string, std::string>> flat;
    std::set<std::string> keys;
    for (const std::string& text : configJsonTexts) {
        std::map<std::string, std::string> f;
        if (const auto j = detail::tryParseJson(text)) flatten(*j, "", f);
        for (const auto& [k, v] : f) keys.insert(k);
        flat.push_back(std::move(f));
    }
    std::vector<ConfigDiffRow> rows;
    for (const std::string& key : keys) {
        ConfigDiffRow row{key, {}};
        bool differs = false;
        const std::string* first = nullptr;
        for (size_t i = 0; i < flat.size(); ++i) {
            const auto it = flat[i].find(key);
            const std::string* v = it == flat[i].end() ? nullptr : &it->second;
            row.values.push_back(v ? *v : "—");
            if (i == 0)
                first = v;
            else if ((v == nullptr) != (first == nullptr) || (v && first && *v != *first))
                differs = true;
        }
        if (differs) rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace mts
