#pragma once
// Conversation: a transcript that grows by turns, each continued from the model's carried
// decoding state (the earlier turns are never recomputed).
//
// Usage:
//   mts::Conversation chat(model, tokenizer.get());
//   auto a = chat.send("Once upon a time", options, onToken);   // prefill + generate
//   auto b = chat.send(" Then", options, onToken);   // feeds only the last generated id and " Then"
//   chat.reset();                                    // empty transcript, fresh state
//
// Each send() encodes only the new text (a token boundary is never merged across turns) and
// runs it through LanguageModelImpl::prefill on the state that already holds the transcript,
// together with the previous turn's last sampled id (which generation never feeds back). Then
// it samples as generate() does (generation.h: the same options, stop rules, streaming and
// placeholders). The repetition penalty sees the whole transcript. With a stop string the
// state still holds the ids that completed it; the transcript text is cut like the turn's text.
//
// Threading: one thread at a time (the model's rule); the callback runs on that thread.
// The model and tokenizer must outlive the conversation.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mts/core/generate/generation.h"
#include "mts/core/model/language_model.h"
#include "mts/core/tokenize/tokenizer.h"

namespace mts {

class Conversation {
public:
    /// tokenizer may be null only for sendIds().
    Conversation(LanguageModelImpl& model, const Tokenizer* tokenizer);
    ~Conversation();
    Conversation(const Conversation&) = delete;
    Conversation& operator=(const Conversation&) = delete;

    /// Appends `text` to the transcript and generates up to options.maxNewTokens ids after it.
    /// Empty text continues the transcript as it is (on the first turn it starts from the
    /// tokenizer's end-of-document id, as generate() does). result.promptTokens counts the ids
    /// prefilled this turn (new text + the carried last id), not the transcript.
    /// Throws ConfigError (bad options, no tokenizer, nothing to start from, the model's
    /// context is full); LibTorch errors propagate. After a throw the conversation is unchanged
    /// unless the model or the callback threw mid-turn, in which case it is reset.
    GenerateResult send(const std::string& text, const SamplingOptions& options, const TokenCallback& onToken = {});
    /// As send(), with the new turn given as ids (each < the model's padded vocabulary).
    GenerateResult sendIds(const std::vector<int32_t>& ids, const SamplingOptions& options,
                           const TokenCallback& onToken = {});

    /// Forgets the transcript and the state.
    void reset();

    /// Every id of the transcript: the turns' text ids and generated ids (no EOS).
    const std::vector<int32_t>& ids() const { return m_ids; }
    /// The transcript as shown: each turn's text followed by its generated text.
    const std::string& text() const { return m_text; }
    /// Ids the decoding state has consumed (ids().size() minus the last, not yet fed, id).
    int64_t statePosition() const;
    /// Completed send() calls since construction or reset().
    int64_t turns() const { return m_turns; }

private:
    GenerateResult run(std::vector<int32_t> newIds, const std::string& newText, const SamplingOptions& options,
                       const TokenCallback& onToken);

    LanguageModelImpl& m_model;
    const Tokenizer* m_tokenizer;
    std::unique_ptr<DecodeState> m_state;  // null until the first turn
    torch::Tensor m_logits;                 // (1, V) CPU float: the prediction the last id was drawn from
    std::vector<int32_t> m_ids;
    std::string m_text;
    int64_t m_turns = 0;
};

}  // namespace mts
