#pragma once
// GeneratePage: chat with a model. Pick a run + checkpoint from the runs folder (or open any
// model folder: Hugging Face / state-spaces Mamba, a studio checkpoint), type a prompt, Send;
// the continuation streams in token by token through GenerationJob (worker thread). Each Send
// continues the whole transcript (the model's state carried); Reset starts a new conversation.
// Send with no model loaded loads the picked one (with a busy bar) and then sends; with none to
// pick it says what to do. The runs folder is listed on a worker thread (it reads every run's
// files); the picker fills when modelsRefreshed() fires.
// GUI thread only.
#include <atomic>

#include <QVector>
#include <QWidget>

#include "mts/ui/job_thread.h"
#include "mts/ui/run_store.h"

class QComboBox;
class QLayout;
class QDoubleSpinBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QSplitter;

namespace mts::ui {

class AppSettings;
class GenerationJob;
struct SamplingSettings;

class GeneratePage : public QWidget {
    Q_OBJECT
public:
    explicit GeneratePage(AppSettings& settings, QWidget* parent = nullptr);
    ~GeneratePage() override;  // stops and joins the runs-folder reader

    /// Re-reads the runs folder into the model picker on a worker thread and returns at once;
    /// modelsRefreshed() fires when the picker shows it. One asked for while one runs follows it.
    void refreshModels();
    /// True from refreshModels() until the picker shows the folder as it was read.
    bool isRefreshingModels() const { return m_listing; }
    /// Loads a model folder / run folder / checkpoint (as if picked).
    void loadModel(const QString& path);
    /// Sends the prompt box's text (as the Send button does). Without a loaded model: loads the
    /// picked one, then sends; with nothing to pick, says what to do (statusText()).
    void send();
    void stop();
    /// Starts a new conversation (the Reset button): clears the transcript and the model's state.
    void resetConversation();

    GenerationJob* job() const { return m_job; }
    SamplingSettings samplingSettings() const;

    /// The model line under the picker ("No model loaded…", "Loading…", "Loaded: …", errors).
    QString statusText() const;

Q_SIGNALS:
    void generationFinished();
    /// The model picker now shows the runs folder as read by the last refreshModels().
    void modelsRefreshed();

protected:
    void showEvent(QShowEvent* event) override;

private:
    QLayout* buildModelRow();
    QWidget* buildChat(QSplitter* parent);
    QWidget* buildSampling(QSplitter* parent);
    void connectControls();
    void connectJob();
    void applyModels(const QVector<RunSummary>& runs);
    void saveSamplingSettings(const SamplingSettings& s);
    void appendOutput(const QString& text, bool emphasis = false);
    void setBusy(bool busy);

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
    QProgressBar* m_loadProgress;  // busy bar while a model loads
    QString m_loadedPath;
    bool m_sendWhenLoaded = false;    // Send asked for a model: send once it has loaded
    JobThread m_lister;               // lists the runs folder
    std::atomic<bool> m_stopListing{false};
    bool m_listing = false;
    bool m_relistWanted = false;
};

}  // namespace mts::ui
