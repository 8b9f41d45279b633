#pragma once
// TrainPage: pick a dataset and presets (architecture, size, memory tier, training), see the
// memory estimate, edit the effective config (advanced panel, JSON save/load), then
// Train / Pause / Stop / Resume with live charts, progress, ETA, samples and a log.
// Training runs in TrainingController's worker thread; this page only draws. GUI thread only.
#include <QWidget>

class QComboBox;
class QGroupBox;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace mts::ui {

class AppSettings;
class MemoryBar;
class TrainCharts;
class TrainingController;
struct TrainOutcome;

class TrainPage : public QWidget {
    Q_OBJECT
public:
    explicit TrainPage(AppSettings& settings, QWidget* parent = nullptr);
    ~TrainPage() override;

    /// True while a training run is active (running, paused or stopping).
    bool isTraining() const;
    /// Stops the active run, waits until its final checkpoint is saved. No-op when idle.
    void stopAndWait();

    /// Re-reads the dataset list from the settings into the picker.
    void refreshDatasets();
    void setDataset(const QString& corpusDir);
    /// Picks presets by engine id (empty = leave); recomposes the config and the estimate.
    void choosePresets(const QString& arch, const QString& size, const QString& tier, const QString& training);
    /// The effective config JSON (the advanced editor's text) and replacing it.
    QString configJson() const;
    void setConfigJson(const QString& json);

    /// Train button: starts a new run from configJson(). Returns false and shows the error.
    bool startTraining();
    /// Resume: continues a run folder or checkpoint with the current max_steps.
    bool resumeTraining(const QString& runOrCheckpoint);

    TrainingController* controller() const { return m_controller; }
    TrainCharts* charts() const { return m_charts; }
    MemoryBar* memoryBar() const { return m_memoryBar; }
    QString lastError() const;

private:
    void buildControls(QWidget* panel);
    void recompose();
    void updateEstimate();
    void updateButtons();
    void onPoints();
    void onFinished(const TrainOutcome& outcome);
    void showError(const QString& message);
    void saveConfigAs();
    void loadConfigFrom();

    AppSettings& m_settings;
    TrainingController* m_controller;
    QComboBox* m_dataset;
    QComboBox* m_startFrom;  // "" = a new model from the presets, else a model folder to fine-tune
    QComboBox* m_arch;
    QComboBox* m_size;
    QComboBox* m_tier;
    QComboBox* m_training;
    MemoryBar* m_memoryBar;
    QLabel* m_memoryText;
    QPushButton* m_trainButton;
    QPushButton* m_pauseButton;
    QPushButton* m_stopButton;
    QPushButton* m_resumeButton;
    QGroupBox* m_advanced;
    QPlainTextEdit* m_configEditor;
    QLabel* m_errorLabel;
    QLabel* m_progressLabel;
    QProgressBar* m_progressBar;
    QComboBox* m_xAxis;
    TrainCharts* m_charts;
    QListWidget* m_samples;
    QPlainTextEdit* m_log;
    bool m_recomposing = false;
};

}  // namespace mts::ui
