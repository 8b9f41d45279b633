#pragma once
// GenerationJob: the Qt adapter over mts::loadModel + mts::generate. Loads a model (run folder,
// checkpoint or imported model folder) and streams generated text token by token, each Send
// continuing one conversation (mts::Conversation) until resetConversation() or another load.
//
// Threading: call from the GUI thread. Loading and generation run on one worker thread (the
// model is only ever touched there); every signal is delivered queued on the GUI thread.
// stop() is immediate-return: the worker sees it at the next token. Exceptions become failed().
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include <QObject>
#include <QString>

#include "mts/ui/job_thread.h"

namespace mts::ui {

/// The sampling controls of the Generate page (mirrors mts::SamplingOptions; see generation.h).
struct SamplingSettings {
    double temperature = 0.8;
    int topK = 0;
    double topP = 0.95;
    double minP = 0.0;
    double repetitionPenalty = 1.1;
    int maxNewTokens = 200;
    quint64 seed = 0;
};

class GenerationJob : public QObject {
    Q_OBJECT
public:
    explicit GenerationJob(QObject* parent = nullptr);
    ~GenerationJob() override;  // cancels and joins

    /// Loads path on the worker; emits modelLoaded(description) or failed(message).
    void loadModel(const QString& path);
    /// Continues the conversation with prompt (core's Conversation: the transcript's decoding
    /// state is carried from turn to turn); emits text(...) pieces then finished(...) or failed().
    /// Ignored (returns false) while busy or without a loaded model. Loading a model starts a
    /// new conversation.
    bool generate(const QString& prompt, const SamplingSettings& settings);
    /// Asks the running generation to stop after the current token.
    void stop();
    /// Starts a new conversation: the next generate() begins from an empty transcript.
    void resetConversation();
    /// The conversation so far (every prompt and continuation); empty while busy or unloaded.
    QString transcript() const;
    bool busy() const { return m_thread.running(); }
    /// Tests: a function the worker calls just before reading the model (to hold a load in
    /// flight, as a slow disk does). Set it before loadModel().
    void setBeforeLoadForTesting(std::function<void()> hook) { m_beforeLoad = std::move(hook); }
    bool hasModel() const;

Q_SIGNALS:
    void modelLoaded(const QString& description);
    void text(const QString& piece);
    void finished(const QString& stopReason, int tokens, double tokensPerSecond);
    void failed(const QString& message);

private:
    struct Model;
    std::shared_ptr<Model> m_model;  // set on the GUI thread when loading completes
    std::atomic<bool> m_cancel{false};
    std::function<void()> m_beforeLoad;
    std::atomic<bool> m_resetPending{false};
    JobThread m_thread;              // last member: joined first on destruction
};

}  // namespace mts::ui
