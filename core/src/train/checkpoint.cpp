#include "mts/core/train/checkpoint.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>

#include "mts/core/formats/safetensors.h"
#include "mts/core/runtime/durable_file.h"
#include "mts/core/runtime/errors.h"
#include "runtime/json_file.h"
#include "runtime/owned_temp.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mts {

namespace {
constexpr const char* kStateFile = "trainer_state.json";
constexpr uint64_t kMaxStateBytes = uint64_t(64) << 20;
constexpr const char* kOptimizerFile = "optimizer.safetensors";
}  // namespace

std::string checkpointName(int64_t step) { return fmt::format("step-{:08d}", step); }

namespace {

void pause(int64_t ms) {
    if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

void removeQuietly(const fs::path& p) {
    std::error_code ec;
    fs::remove_all(p, ec);
}

}  // namespace

fs::path writeCheckpoint(const fs::path& checkpointsDir, const CheckpointWrite& w) {
    const std::string name = checkpointName(w.state->step);
    const fs::path finalDir = checkpointsDir / name;
    const fs::path tmp = checkpointsDir / fmt::format(".tmp-{}-{}", name, ::getpid());
    try {
        std::error_code ec;
        fs::create_directories(checkpointsDir, ec);
        if (ec) throw std::runtime_error("cannot create " + checkpointsDir.string() + ": " + ec.message());
        removeQuietly(tmp);
        if (!fs::create_directory(tmp, ec) || ec)
            throw std::runtime_error("cannot create " + tmp.string() + ": " + ec.message());

        saveModel(tmp, *w.model, w.tokenizer);
        pause(w.debugDelayMs);

        std::map<std::string, torch::Tensor> opt = w.optimizer->stateDict();
        auto rng = at::detail::getDefaultCPUGenerator();
        {
            std::lock_guard<std::mutex> lock(rng.mutex());
            opt["rng.cpu"] = rng.get_state();
        }
        if (w.cudaRngState.defined()) opt["rng.cuda"] = w.cudaRngState.to(torch::kCPU).contiguous();
        writeSafetensors(tmp / kOptimizerFile, opt, {{"format", "mts-optimizer"}, {"kind", w.optimizer->kind()}});
        pause(w.debugDelayMs);

        json state = trainerStateJson(*w.state, *w.config);
        state["optimizer"] = w.optimizer->kind();
        writeFileAtomic(tmp / kStateFile, state.dump(2) + "\n");

        // saveModel's own files may not be synced; a rename is only durable over synced data.
        for (auto& e : fs::directory_iterator(tmp))
            if (e.is_regular_file()) fsyncPath(e.path());
        fsyncPath(tmp);
        pause(w.debugDelayMs);

        fs::path old;
        if (fs::exists(finalDir)) {
            old = checkpointsDir / fmt::format(".old-{}-{}", name, ::getpid());
            removeQuietly(old);
            fs::rename(finalDir, old);
        }
        fs::rename(tmp, finalDir);
        fsyncPath(checkpointsDir);
        writeFileAtomic(checkpointsDir / "latest.txt", name + "\n");
        if (!old.empty()) removeQuietly(old);
        return finalDir;
    } catch (const std::exception& e) {
        removeQuietly(tmp);
        std::string first = e.what();
        if (auto nl = first.find('\n'); nl != std::string::npos) first.resize(nl);
        throw std::runtime_error(fmt::format(
            "could not write the checkpoint of step {} into {} ({}); the previous checkpoint is intact", w.state->step,
            checkpointsDir.string(), first));
    }
}

namespace {

std::string readSmallFile(const fs::path& p) {
    std::ifstream in(p);
    std::string s;
    std::getline(in, s);
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

bool isCompleteCheckpoint(const fs::path& dir) { return fs::is_regular_file(dir / kStateFile); }

}  // namespace

fs::path resolveCheckpointDir(const fs::path& path) {
    if (isCompleteCheckpoint(path)) return path;
    fs::path ckpts = fs::is_directory(path / "checkpoints") ? path / "checkpoints" : path;
    if (!fs::is_directory(ckpts)) throw FormatError(path.string(), "no such checkpoint or run folder");
    if (fs::exists(ckpts / "latest.txt")) {
        std::string name = readSmallFile(ckpts / "latest.txt");
        if (!name.empty() && name.find('/') == std::string::npos && isCompleteCheckpoint(ckpts / name))
            return ckpts / name;
    }
    std::vector<fs::path> found;
    for (auto& e : fs::directory_iterator(ckpts)) {
        auto n = e.path().filename().string();
        if (e.is_directory() && n.rfind("step-", 0) == 0 && isCompleteCheckpoint(e.path())) found.push_back(e.path());
    }
    if (found.empty()) throw FormatError(path.string(), "no complete checkpoint found (no step-*/trainer_state.json)");
    std::sort(found.begin(), found.end());
    return found.back();
}

LoadedCheckpoint readCheckpoint(const fs::path& path, torch::Device device) {
    LoadedCheckpoint c;
    c.dir = resolveCheckpointDir(path);
    const fs::path stateFile = c.dir / kStateFile;
    const auto text = detail::readSmallFile(stateFile, kMaxStateBytes);
    if (!text) throw FormatError(stateFile.string(), "cannot open the trainer state (or larger than 64 MB)");
    TrainerStateFile parsed = parseTrainerStateJson(*text, stateFile.string());
    c.state = parsed.state;
    c.config = std::move(parsed.config);
    SafetensorsFile opt = readSafetensors(c.dir / kOptimizerFile);
    c.optimizerState = std::move(opt.tensors);
    if (auto it = c.optimizerState.find("rng.cpu"); it != c.optimizerState.end()) {
        c.cpuRngState = it->second;
        c.optimizerState.erase(it);
    }
    if (auto it = c.optimizerState.find("rng.cuda"); it != c.optimizerState.end()) {
        c.cudaRngState = it->second;
        c.optimizerState.erase(it);
    }
    c.model = loadModel(c.dir, device);
    c.model.model->train();
    return c;
}

int sweepCheckpointLeftovers(const fs::path& checkpointsDir) {
    int handled = 0;
    std::error_code ec;
    std::vector<fs::path> entries;
    for (auto it = fs::directory_iterator(checkpointsDir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
        entries.push_back(it->path());
    for (const fs::path& p : entries) {
        const std::string n = p.filename().string();
        const bool tmp = n.rfind(".tmp-", 0) == 0, old = n.rfind(".old-", 0) == 0;
        if (!tmp && !old) continue;
        // .tmp-<step>-<pid> / .old-<step>-<pid> (writeCheckpoint's names)
        const auto dash = n.rfind('-');
        if (dash == std::string::npos || dash <= 5 || dash + 1 >= n.size()) continue;
        const std::string pidText = n.substr(dash + 1), step = n.substr(5, dash - 5);
        if (pidText.size() > 9 || pidText.find_first_not_of("0123456789") != std::string::npos) continue;
        const pid_t pid = static_cast<pid_t>(std::stol(pidText));
        if (pid <= 0 || pid == ::getpid() || detail::processAlive(pid)) continue;
        const fs::path finalDir = checkpointsDir / step;
        if (old && step.rfind("step-", 0) == 0 && !fs::exists(finalDir, ec) && !fs::is_symlink(p, ec)) {
            fs::rename(p, finalDir, ec);  // the previous copy of that step is the one to keep
            if (!ec) {
                try {
                    fsyncPath(checkpointsDir);
                } catch (const std::exception&) {  // the rename stands; a later save syncs again
                }
                ++handled;
                continue;
            }
        }
        removeQuietly(p);
        ++handled;
    }
    return handled;
}

std::string pruneCheckpoints(const fs::path& checkpointsDir, int64_t keepLast) {
    std::string warnings;
    std::error_code ec;
    std::string best = fs::exists(checkpointsDir / "best.txt") ? readSmallFile(checkpointsDir / "best.txt") : "";
    std::string latest = fs::exists(checkpointsDir / "latest.txt") ? readSmallFile(checkpointsDir / "latest.txt") : "";
    std::vector<std::string> steps;
    for (auto it = fs::directory_iterator(checkpointsDir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        auto n = it->path().filename().string();
        if (n.rfind("step-", 0) == 0) steps.push_back(n);
        // Another live process's temp folder would have our pid only if it were us.
        if (n.rfind(".tmp-", 0) == 0 || n.rfind(".old-", 0) == 0) removeQuietly(it->path());
    }
    std::sort(steps.begin(), steps.end());
    const int64_t n = static_cast<int64_t>(steps.size());
    for (int64_t i = 0; i < n - keepLast; ++i) {
        if (steps[i] == best || steps[i] == latest) continue;
        fs::remove_all(checkpointsDir / steps[i], ec);
        if (ec) warnings += "could not remove old checkpoint " + steps[i] + ": " + ec.message() + "; ";
    }
    return warnings;
}

void markBestCheckpoint(const fs::path& checkpointsDir, const std::string& name) {
    writeFileAtomic(checkpointsDir / "best.txt", name + "\n");
}

}  // namespace mts
