#pragma once
// CompareDialog: the Runs page's "Compare…": pick data, architectures (core's list), a budget
// and a report folder; the suite runs on a worker (CompareJob) while the dialog shows its
// progress, then its table (report.md) and opens the report folder. Closing the dialog
// cancels a running suite (its current run keeps a checkpoint; starting the same suite again
// resumes). GUI thread only.
#include <QDialog>

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
    QString logText() const;

Q_SIGNALS:
    void suiteFinished(bool ok);

private:
    QLineEdit* m_data;
    QLineEdit* m_archs;
    QLineEdit* m_budget;
    QLineEdit* m_out;
    QLineEdit* m_params;
    QPlainTextEdit* m_log;
    QPushButton* m_start;
    QPushButton* m_open;
    CompareJob* m_job;
};

}  // namespace mts::ui
