#pragma once
// GeneratePage: chat with a model. Pick a run + checkpoint from the runs folder (or open any
// model folder: Hugging Face / state-spaces Mamba, a studio checkpoint), type a prompt, Send;
// the continuation streams in token by token through GenerationJob (worker thread).
// GUI thread only.
#include <QWidget>

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

class GeneratePage : public QWidget {
    Q_OBJECT
public:
    explicit GeneratePage(AppSettings& settings, QWidget* parent = nullptr);
    ~GeneratePage() override;

    /// Re-reads the runs folder into the model picker.
    void refreshModels();
    /// Loads a model folder / run folder / checkpoint (as if picked).
    void loadModel(const QString& path);
    /// Sends the prompt box's text (as the Send button does).
    void send();
    void stop();

    GenerationJob* job() const { return m_job; }
    SamplingSettings samplingSettings() const;

Q_SIGNALS:
    void generationFinished();

protected:
    void showEvent(QShowEvent* event) override;

private:
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
    QComboBox* m_weights;
    QString m_loadedPath;
};

}  // namespace mts::ui
