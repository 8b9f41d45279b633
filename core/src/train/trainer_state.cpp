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
                {"data_seed", dataSeed}};
}

TrainerState TrainerState::fromJson(const json& j) {
    TrainerState s;
    try {
        s.step = j.at("step").get<int64_t>();
        s.tokensSeen = j.at("tokens_seen").get<int64_t>();
        s.elapsedSec = j.at("elapsed_sec").get<double>();
        s.bestValLoss = j.at("best_val_loss").get<double>();
        s.bestStep = j.at("best_step").get<int64_t>();
        s.lastValLoss = j.at("last_val_loss").get<double>();
        s.lastEvalStep = j.at("last_eval_step").get<int64_t>();
        s.evalsWithoutImprovement = j.at("evals_without_improvement").get<int64_t>();
        s.skippedSteps = j.at("skipped_steps").get<int64_t>();
        s.nonFiniteInARow = j.at("non_finite_in_a_row").get<int64_t>();
        s.lossScale = j.at("loss_scale").get<double>();
        s.goodStepsSinceScale = j.at("good_steps_since_scale").get<int64_t>();
        s.dataSeed = j.at("data_seed").get<uint64_t>();
    } catch (const json::exception& e) {
        throw FormatError("", std::string("trainer state: ") + e.what());
    }
    if (s.step < 0) throw FormatError("", "trainer state: negative step");
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
