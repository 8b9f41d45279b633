#pragma once
// CompareDialog: the Runs page's "Compare…": pick data, architectures (core's list), a budget,
// a report folder, the training recipe ("auto" picks by the data's size, as the CLI does) and
// key=value settings for every run (the CLI's --set); the suite runs on a worker (CompareJob) while the dialog shows its
// progress, then its table (report.md) and opens the report folder. Closing the dialog
// cancels a running suite (its current run keeps a checkpoint; starting the same suite again
// resumes). GUI thread only.
#include <QDialog>

class QComboBox;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;

namespace mts::ui {

class CompareJob;

class CompareDialog : public QDialog {
    Q_OBJECT
public:
    /// runsFolder: where the default report folder goes (<runsFolder>/compare).
    explicit CompareDialog(const QString& runsFolder, QWidget* parent = nullptr);
    ~CompareDialog() override;

    /// Starts the suite with the fields' values; false with the reason shown when they are invalid.
    bool startSuite();
    bool isRunning() const;
    QLineEdit* dataEdit() const { return m_data; }
    QLineEdit* archsEdit() const { return m_archs; }
    QLineEdit* budgetEdit() const { return m_budget; }
    QLineEdit* outEdit() const { return m_out; }
    QComboBox* trainingCombo() const { return m_training; }
    /// Space-separated key=value settings, e.g. "val_fraction=0.1 model.dropout=0.2".
    QLineEdit* settingsEdit() const { return m_settings; }
    QString logText() const;

Q_SIGNALS:
    void suiteFinished(bool ok);

private:
    QLineEdit* m_data;
    QLineEdit* m_archs;
    QLineEdit* m_budget;
    QLineEdit* m_out;
    QLineEdit* m_params;
    QComboBox* m_training;
    QLineEdit* m_settings;
    QPlainTextEdit* m_log;
    QPushButton* m_start;
    QPushButton* m_open;
    CompareJob* m_job;
};

}  // namespace mts::ui
