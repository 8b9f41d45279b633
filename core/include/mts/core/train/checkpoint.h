#pragma once
// Training checkpoints: runs/<name>/checkpoints/step-XXXXXXXX/ holding
//
//   config.json, model.safetensors, tokenizer.json   saveModel() (model_io.h): loadable by
//                                                     loadModel / `info` / `generate`
//   optimizer.safetensors   every optimizer state tensor (optimizers.h names) + "rng.cpu"
//                           (+ "rng.cuda": the CUDA generator's state, runs trained on CUDA;
//                           optional, checkpoints without it load)
//   trainer_state.json      {"format":"mts-trainer-state","version":1,"step",...,"train_config"}
//                           written last: its presence marks a complete checkpoint
//
// plus checkpoints/latest.txt (name of the newest complete checkpoint, the file
// resolveModelDir follows) and checkpoints/best.txt (the best by validation loss).
//
// Atomicity: everything is written into checkpoints/.tmp-step-XXXXXXXX-<pid>/, each file
// fsynced, the folder renamed into place and the parent fsynced, then latest.txt replaced
// atomically. A kill at any moment leaves the previous checkpoint and latest.txt valid.
// Threading: called from the training thread.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "mts/core/formats/model_io.h"
#include "mts/core/model/language_model.h"
#include "mts/core/tokenize/tokenizer.h"
#include "mts/core/train/optimizers.h"
#include "mts/core/train/train_config.h"

namespace mts {

/// Counters of a run besides the model and optimizer.
struct TrainerState {
    int64_t step = 0;               // optimizer steps completed (skipped ones included)
    int64_t tokensSeen = 0;         // training tokens consumed
    double elapsedSec = 0.0;        // training wall time so far (pauses excluded)
    double bestValLoss = 0.0;       // valid only when bestStep >= 0
    int64_t bestStep = -1;
    double lastValLoss = 0.0;       // valid when lastEvalStep >= 0
    int64_t lastEvalStep = -1;
    int64_t evalsWithoutImprovement = 0;
    int64_t skippedSteps = 0;       // non-finite steps skipped in total
    int64_t nonFiniteInARow = 0;
    double lossScale = 1.0;         // fp16 dynamic loss scale
    int64_t goodStepsSinceScale = 0;
    uint64_t dataSeed = 0;          // the seed the batches derive from (data position = step)
    int64_t worldSize = 1;          // data-parallel ranks that trained it (global batch =
                                    // worldSize x gradAccum x microBatch rows per step)

    nlohmann::json toJson() const;
    static TrainerState fromJson(const nlohmann::json& j);  // throws FormatError("", ...)
};

/// A trainer_state.json: the counters and the TrainConfig the run was trained with.
struct TrainerStateFile {
    TrainerState state;
    TrainConfig config;
};

/// Parses the text of a trainer_state.json (nesting bounded, format "mts-trainer-state",
/// version 1, every counter, train_config). Throws FormatError(file, what is wrong). Pure.
TrainerStateFile parseTrainerStateJson(std::string_view text, const std::string& file);

/// The trainer_state.json object for `state` and `config` (format and version included).
nlohmann::json trainerStateJson(const TrainerState& state, const TrainConfig& config);

struct CheckpointWrite {
    const TrainConfig* config = nullptr;
    const TrainerState* state = nullptr;
    LanguageModelImpl* model = nullptr;
    const Tokenizer* tokenizer = nullptr;
    const Optimizer* optimizer = nullptr;
    int64_t debugDelayMs = 0;       // sleep between files (kill-window tests)
    torch::Tensor cudaRngState{};   // saved as "rng.cuda" when defined (compat::cudaRngState)
};

/// "step-00001234".
std::string checkpointName(int64_t step);

/// Writes a checkpoint (see above) and points latest.txt at it; returns its folder. When a
/// checkpoint of that step already exists it is replaced. On any failure (disk full, folder
/// not writable) removes the temporary folder and throws std::runtime_error saying what
/// failed and that the previous checkpoint is intact.
std::filesystem::path writeCheckpoint(const std::filesystem::path& checkpointsDir, const CheckpointWrite& what);

struct LoadedCheckpoint {
    std::filesystem::path dir;
    TrainConfig config;
    TrainerState state;
    LoadedModel model;                                   // model on the requested device, train()
    std::map<std::string, torch::Tensor> optimizerState; // for Optimizer::loadStateDict
    torch::Tensor cpuRngState;                           // torch's CPU generator state (may be undefined)
    torch::Tensor cudaRngState;                          // the CUDA generator's (undefined: CPU run / older)
};

/// A checkpoint folder itself (holds trainer_state.json), or a run folder / its checkpoints/
/// folder -> the checkpoint latest.txt names (the highest step-* when latest.txt is missing
/// or names a missing folder). Throws FormatError when there is no complete checkpoint.
std::filesystem::path resolveCheckpointDir(const std::filesystem::path& path);

/// Reads everything back. Throws FormatError naming the file and the problem for a missing,
/// truncated or corrupt file.
LoadedCheckpoint readCheckpoint(const std::filesystem::path& path, torch::Device device = torch::kCPU);

/// Deletes step-* folders beyond the newest keepLast, sparing the one best.txt names and
/// the one latest.txt names; also removes stale .tmp-* folders. Never throws (I/O problems
/// are returned as warning text, empty when none).
std::string pruneCheckpoints(const std::filesystem::path& checkpointsDir, int64_t keepLast);

/// What a writer killed mid-checkpoint left in checkpointsDir, cleaned up at the next start
/// (RunDir::open, under the run lock): each .tmp-<step>-<pid> folder whose process is gone is
/// removed; each .old-<step>-<pid> whose process is gone is renamed back to <step> when that
/// folder is missing (the kill fell between the two renames of a replace), else removed.
/// Folders of live processes are left alone. Never throws; returns how many entries it handled.
int sweepCheckpointLeftovers(const std::filesystem::path& checkpointsDir);

/// Points best.txt at a checkpoint name (atomic replace).
void markBestCheckpoint(const std::filesystem::path& checkpointsDir, const std::string& name);

}  // namespace mts
