#pragma once
// TrainPage: pick a dataset and presets (architecture, size, memory tier, training), see the
// memory estimate, edit the effective config (advanced panel, JSON save/load), then
// Train / Pause / Stop / Resume with live charts, progress, ETA, samples and a log.
//
// The page holds one TrainConfig (config()). The pickers compose it from the presets; the
// advanced panel's fields (checkpoint cadence) and its JSON editor are views of it: an edit in
// either updates the struct and the other view (the editor's text is TrainConfig::toJson and
// is read back with TrainConfig::fromJson; no other conversion). Text that does not parse as a
// config leaves the struct as it was and is reported (Train refuses until it is fixed).
// Training runs in TrainingController's worker thread; this page only draws. GUI thread only.
#include <QString>
#include <QWidget>

#include "mts/core/train/train_config.h"

class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QGroupBox;
class QLabel;
class QLayout;
class QListWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QVBoxLayout;

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
    /// The effective config the page holds (what Train starts).
    const TrainConfig& config() const { return m_config; }
    /// Replaces it; the advanced fields and the JSON editor show it.
    void setConfig(const TrainConfig& config);
    /// The advanced editor's text (TrainConfig::toJson of config() unless being edited), and
    /// replacing it as if typed: valid text becomes config(), invalid text is reported.
    QString configJson() const;
    void setConfigJson(const QString& json);
    /// Why the editor's text is not a config; empty when it is.
    QString editorError() const { return m_editorError; }

    /// Train button: starts a new run of config(). Returns false and shows the error.
    bool startTraining();
    /// Resume: continues a run folder or checkpoint with the current max_steps.
    bool resumeTraining(const QString& runOrCheckpoint);

    TrainingController* controller() const { return m_controller; }
    TrainCharts* charts() const { return m_charts; }
    MemoryBar* memoryBar() const { return m_memoryBar; }
    QString lastError() const;

private:
    void buildControls(QWidget* panel);
    QFormLayout* buildPickers(QWidget* panel);
    QLayout* buildRunButtons(QWidget* panel);
    QGroupBox* buildAdvanced(QWidget* panel);
    QWidget* buildRunView(QWidget* parent);
    void connectControls();
    void connectController();
    void onStartFromActivated(int index);
    void recompose();
    /// On a change of dataset: picks its training preset and size (small-data and compact for a
    /// small corpus, datasetDefaults) unless the user chose them, and says so under the pickers.
    void applyDatasetDefaults();
    /// Shows m_config in the advanced fields and (unless it is the source) the editor.
    void showConfig(bool inEditor);
    void onEditorEdited();
    void onFieldsEdited();
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
    QLabel* m_datasetNote;   // what the dataset picked (the small-data recipe), see applyDatasetDefaults
    QSpinBox* m_processes;   // local data-parallel processes (1 = in the studio's process)
    QLabel* m_ranksLabel;    // the ranks of a multi-process run
    MemoryBar* m_memoryBar;
    QLabel* m_memoryText;
    QPushButton* m_trainButton;
    QPushButton* m_pauseButton;
    QPushButton* m_stopButton;
    QPushButton* m_resumeButton;
    QGroupBox* m_advanced;
    QSpinBox* m_checkpointEvery;
    QDoubleSpinBox* m_checkpointMinutes;
    QPlainTextEdit* m_configEditor;
    QLabel* m_errorLabel;
    QLabel* m_progressLabel;
    QProgressBar* m_progressBar;
    QComboBox* m_xAxis;
    TrainCharts* m_charts;
    QListWidget* m_samples;
    QPlainTextEdit* m_log;
    bool m_recomposing = false;
    bool m_trainingChosen = false;  // the user picked a training preset: datasets no longer change it
    bool m_sizeChosen = false;      // the same for the size
    QString m_defaultsFor;          // the dataset whose defaults were last applied
    bool m_showing = false;  // the views are being set from m_config: not an edit
    TrainConfig m_config;
    QString m_editorError;
};

}  // namespace mts::ui
