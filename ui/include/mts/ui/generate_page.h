#pragma once
// GeneratePage: chat with a model. Pick a run + checkpoint from the runs folder (or open any
// model folder: Hugging Face / state-spaces Mamba, a studio checkpoint), type a prompt, Send;
// the continuation streams in token by token through GenerationJob (worker thread). Each Send
// continues the whole transcript (the model's state carried); Reset starts a new conversation.
// GUI thread only; the runs folder is read on a worker (refreshModels returns at once).
#include <atomic>

#include <QVector>
#include <QWidget>

#include "mts/ui/job_thread.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace mts::ui {

class AppSettings;
class GenerationJob;
struct SamplingSettings;
struct RunSummary;

class GeneratePage : public QWidget {
    Q_OBJECT
public:
    explicit GeneratePage(AppSettings& settings, QWidget* parent = nullptr);
    ~GeneratePage() override;

    /// Re-reads the runs folder into the model picker, on a worker: returns at once; the picker
    /// is filled on the GUI thread afterwards and modelsRefreshed() fires.
    void refreshModels();
    bool isRefreshing() const { return m_listing; }
    /// Loads a model folder / run folder / checkpoint (as if picked).
    void loadModel(const QString& path);
    /// Sends the prompt box's text (as the Send button does).
    void send();
    void stop();
    /// Starts a new conversation (the Reset button): clears the transcript and the model's state.
    void resetConversation();

    GenerationJob* job() const { return m_job; }
    SamplingSettings samplingSettings() const;

Q_SIGNALS:
    void generationFinished();
    void modelsRefreshed();

protected:
    void showEvent(QShowEvent* event) override;

private:
    void appendOutput(const QString& text, bool emphasis = false);
    void setBusy(bool busy);
    void applyModels(const QVector<RunSummary>& runs);

    AppSettings& m_settings;
    GenerationJob* m_job;
    QComboBox* m_modelPicker;
    QPushButton* m_openButton;
    QPushButton* m_loadButton;
    QLabel* m_modelLabel;
    QPlainTextEdit* m_output;
    QPlainTextEdit* m_prompt;
    QPushButton* m_sendButton;
    QPushButton* m_stopButton;
    QPushButton* m_clearButton;
    QPushButton* m_copyButton;
    QLabel* m_rateLabel;
    QDoubleSpinBox* m_temperature;
    QSpinBox* m_topK;
    QDoubleSpinBox* m_topP;
    QDoubleSpinBox* m_minP;
    QDoubleSpinBox* m_repetition;
    QSpinBox* m_maxTokens;
    QSpinBox* m_seed;
    QString m_loadedPath;
    bool m_listing = false;        // a listing is running on m_lister
    bool m_relistWanted = false;   // refreshModels() came while it ran
    std::atomic<bool> m_stopListing{false};
    JobThread m_lister;            // last: joined (after m_stopListing) before the rest goes
};

}  // namespace mts::ui
