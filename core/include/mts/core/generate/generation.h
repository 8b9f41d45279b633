#pragma once
// Text generation: sampling filters and the decoding loop.
//
// Usage:
//   mts::GenerateRequest req;
//   req.promptIds = tokenizer->encode("Once upon a time");
//   req.options.temperature = 0.8; req.options.topP = 0.95; req.options.maxNewTokens = 200;
//   auto result = mts::generate(*model, tokenizer.get(), req,
//       [](int32_t id, const std::string& text) { std::cout << text << std::flush; return true; });
//
// The prompt runs once through LanguageModelImpl::prefill (Mamba: the parallel path; the
// Transformer fills its KV cache), then each new token is one step() call: constant time and
// memory per token for Mamba, a growing KV cache for the Transformer.
//
// Threading: generate() uses the model from the calling thread only (a model is used by one
// thread at a time); the callback runs on that thread, between steps. Batch size is 1.
// Sampling is deterministic for a given seed (own std::mt19937_64, independent of torch's RNG
// and of the device).
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mts/core/model/language_model.h"
#include "mts/core/tokenize/tokenizer.h"

namespace mts {

struct SamplingOptions {
    double temperature = 1.0;        // 0 = greedy (argmax); > 0 divides the logits
    int64_t topK = 0;                // keep the k most likely ids; 0 = off
    double topP = 1.0;               // nucleus: smallest set with probability mass >= topP; 1 = off
    double minP = 0.0;               // drop ids with p < minP * p_max; 0 = off
    double repetitionPenalty = 1.0;  // > 1 discourages ids seen in the window (CTRL rule); 1 = off
    int64_t repetitionWindow = 64;   // last N ids (prompt + generated) the penalty looks at; 0 = all
    int64_t maxNewTokens = 128;
    uint64_t seed = 0;
    std::vector<std::string> stopStrings;  // generation ends before the first occurrence
    bool stopAtEos = true;           // stop when the tokenizer's end-of-document id is sampled

    /// Throws ConfigError naming the first out-of-range value (negative temperature, topP not
    /// in (0, 1], minP not in [0, 1], repetitionPenalty <= 0, negative counts, empty stop string).
    void validate() const;
};

struct GenerateRequest {
    std::vector<int32_t> promptIds;  // must not be empty unless the tokenizer has an EOS id,
                                     // which then starts the sequence
    SamplingOptions options;
};

enum class StopReason {
    MaxTokens,    // maxNewTokens reached
    StopString,   // a stop string appeared in the text
    Eos,          // the end-of-document id was sampled (not included in ids/text)
    Cancelled,    // the callback returned false
    ContextFull,  // the model cannot take more positions (learned position table)
};

std::string toString(StopReason r);  // "max_tokens", "stop_string", "eos", "cancelled", "context_full"

struct GenerateResult {
    std::vector<int32_t> ids;      // newly generated ids only (no prompt, no EOS)
    std::string text;              // their text, cut before a stop string; never a broken character
    StopReason stopReason = StopReason::MaxTokens;
    int64_t promptTokens = 0;
    double promptSeconds = 0.0;    // prefill wall time
    double decodeSeconds = 0.0;    // wall time from the first sampled token to the last
    double tokensPerSecond = 0.0;  // ids.size() / decodeSeconds (0 when nothing was generated)
    int64_t stateBytes = 0;        // DecodeState::bytes() at the end
    int64_t undecodableIds = 0;    // generated ids the tokenizer has no text for (shown as
                                   // placeholders, see vocabulary.h)
    std::vector<std::string> warnings;
};

/// Called once per generated id with the text that became complete with it (may be empty:
/// a partial UTF-8 character, or text held back because it may start a stop string).
/// After the last id, a final call with id -1 delivers any remaining text (only when there is
/// some). Return false to cancel; generation then stops at once (StopReason::Cancelled).
using TokenCallback = std::function<bool(int32_t id, const std::string& text)>;

/// Generates up to options.maxNewTokens ids after the prompt. Runs under NoGradGuard with the
/// model in eval() (its previous train/eval mode is restored afterwards). Sampling draws from
/// the model's vocabulary, ids < config.vocabSize, as the reference implementations do (the
/// padded rows of the embedding are never chosen), whatever the tokenizer's size; ids the
/// tokenizer cannot decode appear in the text as placeholders "<|id N|>" (vocabulary.h).
/// Without a tokenizer the text stays empty.
/// Throws ConfigError for invalid options or an empty prompt without EOS; LibTorch errors
/// (c10::Error) propagate.
GenerateResult generate(LanguageModelImpl& model, const Tokenizer* tokenizer,
                        const GenerateRequest& request, const TokenCallback& onToken = {});

// ---- Sampling building blocks (exposed for tests and for other decoders) ----
// All take 1-D float logits (V,) on the CPU and return a new tensor; removed ids are -inf.

/// CTRL-style penalty: for each distinct id in `history`, a positive logit is divided by
/// `penalty`, a negative one multiplied by it (so penalty > 1 always makes the id less likely).
torch::Tensor applyRepetitionPenalty(const torch::Tensor& logits, const std::vector<int32_t>& history,
                                     double penalty);
/// Keeps the k largest logits (ties at the k-th value broken by lower id); k <= 0 or k >= V: no-op.
torch::Tensor applyTopK(const torch::Tensor& logits, int64_t k);
/// Keeps the smallest set of most likely ids whose softmax mass reaches p (always >= 1 id).
torch::Tensor applyTopP(const torch::Tensor& logits, double p);
/// Keeps ids whose probability is >= minP * (largest probability).
torch::Tensor applyMinP(const torch::Tensor& logits, double minP);

/// One sampler per sequence: applies the options' filters in the order repetition penalty ->
/// temperature -> top-k -> top-p -> min-p, then draws from the softmax with its own RNG.
class Sampler {
public:
    /// vocabLimit: only ids < vocabLimit can be returned (the logits' extra rows are ignored).
    Sampler(const SamplingOptions& options, int64_t vocabLimit);
    /// logits: (V,) or (1, V), any device/dtype. history: ids so far (prompt + generated).
    int32_t sample(const torch::Tensor& logits, const std::vector<int32_t>& history);
    /// The processed distribution the next draw would use (V',), CPU float; for tests.
    torch::Tensor probabilities(const torch::Tensor& logits, const std::vector<int32_t>& history) const;

private:
    torch::Tensor filtered(const torch::Tensor& logits, const std::vector<int32_t>& history) const;

    SamplingOptions m_options;
    int64_t m_vocabLimit;
    std::mt19937_64 m_rng;
};

}  // namespace mts
