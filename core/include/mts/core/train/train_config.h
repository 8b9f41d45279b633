#pragma once
// TrainConfig: everything one training run needs, serialised in full as JSON (the effective
// config written to runs/<name>/config.json and into every checkpoint). A run can be started
// again from that file alone.
//
// JSON keys are snake_case field names ("seq_len", "micro_batch", ...); the model config sits
// under "model" in ModelConfig's own JSON layout. fromJson() keeps defaults for missing keys
// and throws ConfigError naming the key for unknown keys, wrong types or bad values.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mts/core/model/model_config.h"

namespace mts {

enum class OptimizerKind {
    AdamW,  // AdamW on every parameter (decay on matrices only)
    Muon,   // Newton-Schulz orthogonalised momentum on 2-D hidden matrices, AdamW on the rest
};
enum class Precision {
    Fp32,  // everything in float32
    Bf16,  // bf16 autocast, fp32 master weights and optimizer state (CPU and CUDA)
    Fp16,  // fp16 autocast + dynamic loss scaling (CUDA only; on CPU falls back to bf16 with a warning)
};

std::string toString(OptimizerKind k);   // "adamw" | "muon"
std::string toString(Precision p);       // "fp32" | "bf16" | "fp16"
OptimizerKind optimizerFromString(const std::string& s);  // throws ConfigError
Precision precisionFromString(const std::string& s);      // throws ConfigError

struct TrainConfig {
    ModelConfig model;

    // Data: a corpus folder (train.bin, val.bin, tokenizer.json), a .txt file, or a folder of
    // .txt files (byte tokenizer; the last valFraction of the tokens is the validation split).
    std::string data;
    double valFraction = 0.05;
    // How text data is tokenized (a corpus folder keeps its own tokenizer; a fine-tuned model's
    // tokenizer wins over this): "byte", "bpe:VOCAB" (byte-level BPE learned from the training
    // split of the text alone; data_loader.h), or the path of a tokenizer.json.
    std::string textTokenizer = "byte";
    // Fine-tuning: a model folder (Hugging Face or state-spaces layout, a studio checkpoint, or a
    // run folder) whose weights, model config and tokenizer start the run. Text data is then
    // tokenized with that model's tokenizer; a corpus folder must have been built with the
    // same tokenizer. Empty = a fresh model from `model`.
    std::string initFrom;

    int64_t seqLen = 256;        // tokens per training window (the model sees seqLen + 1 per row)
    int64_t microBatch = 8;      // rows per forward/backward
    int64_t gradAccum = 1;       // micro-batches per optimizer step

    int64_t maxSteps = 1000;     // optimizer steps; 0 = no step limit (then maxMinutes must be > 0)
    double maxMinutes = 0.0;     // wall-clock limit, 0 = none; the cosine schedule follows time then

    OptimizerKind optimizer = OptimizerKind::AdamW;
    double lr = 1e-3;            // peak LR of AdamW (of the AdamW group under Muon)
    double muonLr = 1e-3;        // peak LR of the Muon group
    double muonMomentum = 0.95;
    int64_t muonNsSteps = 5;     // Newton-Schulz iterations
    double minLrRatio = 0.1;     // cosine floor as a fraction of the peak LR
    int64_t warmupSteps = 100;
    double weightDecay = 0.1;    // decoupled, matrices only
    double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
    double gradClip = 1.0;       // global-norm clip; 0 = off

    Precision precision = Precision::Fp32;
    bool gradCheckpointing = false;
    std::string device = "auto"; // "auto" (CUDA when present), "cpu", "cuda"
    int threads = 0;             // intra-op threads for CPU training; 0 = leave as set up

    int64_t logEvery = 10;       // metrics.jsonl line every N steps (progress callback every step)
    int64_t evalEvery = 100;     // 0 = only at the end
    int64_t evalBatches = 10;    // micro-batches of validation per evaluation
    int64_t sampleEvery = 0;     // 0 = no samples
    std::vector<std::string> samplePrompts = {"\n"};
    int64_t sampleTokens = 120;
    double sampleTemperature = 0.8;
    int64_t checkpointEvery = 500;  // 0 = only at the end (and at best evaluations when keepBest)
    // Also checkpoint when this many minutes of wall-clock time (training, evaluations, samples;
    // not time paused) have passed since the last checkpoint or the start of the session, so
    // the first checkpoint comes no later than that. 0 = off. Whichever fires first saves.
    double checkpointMinutes = 10.0;
    int64_t keepLast = 3;        // checkpoints kept besides the best
    bool keepBest = true;        // save a checkpoint at each new best validation loss and keep it

    uint64_t seed = 1234;
    int64_t earlyStoppingPatience = 0;  // evaluations without improvement before stopping; 0 = off
    double stopAtLoss = 0.0;     // stop when the validation loss reaches this; 0 = off
    int64_t maxNonFinite = 5;    // consecutive non-finite steps before the run stops

    double fp16InitScale = 65536.0;
    int64_t fp16GrowthInterval = 2000;

    // Fault injection for tests (kept in the JSON so a child process can be told to misbehave):
    std::vector<int64_t> debugNanSteps;     // steps (1-based) whose loss is replaced by NaN
    int64_t debugCheckpointDelayMs = 0;     // pause between checkpoint files (kill-window tests)

    /// Throws ConfigError naming the first bad key.
    void validate() const;

    nlohmann::json toJson() const;
    static TrainConfig fromJson(const nlohmann::json& j);

    /// Applies one "key=value" override; nested keys use dots ("model.d_model=512",
    /// "lr=3e-4", "optimizer=muon", "sample_prompts=[\"ROMEO:\"]"). The value is parsed as JSON
    /// when it is valid JSON, else taken as a string. Throws ConfigError for unknown keys.
    void set(const std::string& assignment);
};

/// The model a run of `config` trains: the pretrained model's config when initFrom is set (read
/// from its config.json and weight headers only, so cheap), else config.model. Throws
/// FormatError for an unreadable model folder. For estimates and displays before a run starts.
ModelConfig effectiveModelConfig(const TrainConfig& config);

/// Merges `overlay` into `base` recursively (objects merge, everything else replaces).
void mergeJson(nlohmann::json& base, const nlohmann::json& overlay);

}  // namespace mts
