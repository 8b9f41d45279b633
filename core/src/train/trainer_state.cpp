// trainer_state.json: the counters of a run and the TrainConfig it was trained with.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mts/core/runtime/errors.h"
#include "mts/core/train/checkpoint.h"
#include "runtime/json_file.h"

namespace mts {

using nlohmann::json;

namespace {
constexpr const char* kStateFormat = "mts-trainer-state";
constexpr int kStateVersion = 1;
}  // namespace

json TrainerState::toJson() const {
    return json{{"step", step},
                {"tokens_seen", tokensSeen},
                {"elapsed_sec", elapsedSec},
                {"best_val_loss", bestValLoss},
                {"best_step", bestStep},
                {"last_val_loss", lastValLoss},
                {"last_eval_step", lastEvalStep},
                {"evals_without_improvement", evalsWithoutImprovement},
                {"skipped_steps", skippedSteps},
                {"non_finite_in_a_row", nonFiniteInARow},
                {"loss_scale", lossScale},
                {"good_steps_since_scale", goodStepsSinceScale},
                {"data_seed", dataSeed},
                {"world_size", worldSize}};
}

namespace {

// Integers range-checked before conversion (get<T>() casts a huge float out of range: UB; a
// fuzzed trainer_state.json with "data_seed": 1.2e68 found it).
template <typename T>
T intAt(const json& j, const char* key) {
    const auto v = detail::jsonInteger<T>(j.at(key));
    if (!v) throw FormatError("", std::string("trainer state: '") + key + "' is not an integer in range");
    return *v;
}

}  // namespace

TrainerState TrainerState::fromJson(const json& j) {
    TrainerState s;
    try {
        s.step = intAt<int64_t>(j, "step");
        s.tokensSeen = intAt<int64_t>(j, "tokens_seen");
        s.elapsedSec = j.at("elapsed_sec").get<double>();
        s.bestValLoss = j.at("best_val_loss").get<double>();
        s.bestStep = intAt<int64_t>(j, "best_step");
        s.lastValLoss = j.at("last_val_loss").get<double>();
        s.lastEvalStep = intAt<int64_t>(j, "last_eval_step");
        s.evalsWithoutImprovement = intAt<int64_t>(j, "evals_without_improvement");
        s.skippedSteps = intAt<int64_t>(j, "skipped_steps");
        s.nonFiniteInARow = intAt<int64_t>(j, "non_finite_in_a_row");
        s.lossScale = j.at("loss_scale").get<double>();
        s.goodStepsSinceScale = intAt<int64_t>(j, "good_steps_since_scale");
        s.dataSeed = intAt<uint64_t>(j, "data_seed");
        // Checkpoints from before data parallel were trained by one process.
        if (j.contains("world_size")) s.worldSize = intAt<int64_t>(j, "world_size");
    } catch (const json::exception& e) {
        throw FormatError("", std::string("trainer state: ") + e.what());
    }
    if (s.step < 0) throw FormatError("", "trainer state: negative step");
    if (s.worldSize < 1) throw FormatError("", "trainer state: world_size must be at least 1");
    return s;
}

TrainerStateFile parseTrainerStateJson(std::string_view text, const std::string& file) {
    const json state = detail::parseJsonText(text, file, "the trainer state");
    if (!state.is_object()) throw FormatError(file, "not valid JSON (not an object)");
    // Typed checks: value("format", "") would throw a JSON type error on {"format": 0}.
    const json format = state.value("format", json());
    if (!format.is_string() || format.get<std::string>() != kStateFormat)
        throw FormatError(file, "not a trainer state (format field missing or wrong)");
    const json version = state.value("version", json());
    if (!version.is_number_integer() || version.get<int64_t>() != kStateVersion)
        throw FormatError(file, "unsupported trainer state version " + version.dump());
    TrainerStateFile out;
    try {
        out.state = TrainerState::fromJson(state);
        if (!state.contains("train_config")) throw FormatError("", "trainer state: no train_config");
        out.config = TrainConfig::fromJson(state.at("train_config"));
    } catch (const FormatError& e) {
        throw FormatError(file, e.problem());
    } catch (const std::exception& e) {
        throw FormatError(file, e.what());
    }
    return out;
}

json trainerStateJson(const TrainerState& state, const TrainConfig& config) {
    json j = state.toJson();
    j["format"] = kStateFormat;
    j["version"] = kStateVersion;
    j["train_config"] = config.toJson();
    return j;
}

}  // namespace mts
