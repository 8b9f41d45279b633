#pragma once
// DatasetPage: build training corpora from the user's files. Drop folders, git repositories or
// files on the drop zone (or Add folder… / Add files…), pick a tokenizer, and IngestJob turns
// them into a corpus folder under the datasets folder, with progress and Cancel. The dataset
// list persists (AppSettings); "Include secrets" (off at every launch) lets private keys, .env
// files and credential stores in, which are otherwise skipped and listed; selecting one shows its table by file kind, the skipped files
// with reasons (filterable, double-click opens), and sample documents.
// GUI thread only.
#include <QFrame>
#include <QStringList>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QLayout;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace mts::ui {

class AppSettings;
class IngestJob;
struct IngestReport;
struct IngestProgressInfo;

/// The dashed area that accepts dropped folders and files (local URLs only).
class DropZone : public QFrame {
    Q_OBJECT
public:
    explicit DropZone(QWidget* parent = nullptr);

Q_SIGNALS:
    void dropped(const QStringList& paths);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dragLeaveEvent(QDragLeaveEvent* event) override;
    void dropEvent(QDropEvent* event) override;
};

class DatasetPage : public QWidget {
    Q_OBJECT
public:
    explicit DatasetPage(AppSettings& settings, QWidget* parent = nullptr);
    ~DatasetPage() override;

    /// Starts building a corpus from these folders/files (what a drop does). False when busy.
    bool addSources(const QStringList& paths);
    /// On first launch: builds "sample-docs" from the studio's bundled documentation, so Train
    /// works without hunting for data. No-op when it was built before (or is being built).
    void ensureSampleDataset();
    void cancel();

    QStringList datasets() const;
    /// Shows one dataset's report (reads its manifest).
    void showDataset(const QString& corpusDir);
    IngestJob* job() const { return m_job; }
    DropZone* dropZone() const { return m_dropZone; }

Q_SIGNALS:
    void datasetAdded(const QString& corpusDir);
    void ingestFailed(const QString& message);

private:
    DropZone* buildDropZone();
    QLayout* buildProgressRow();
    QWidget* buildDatasetList(QWidget* parent);
    QWidget* buildDetails(QWidget* parent);
    void connectControls();
    void connectJob();
    void onTokenizerPicked();
    QString newCorpusDir(const QString& firstSource) const;
    void onProgress(const IngestProgressInfo& p);
    void onFinished(const IngestReport& report);
    void showReport(const IngestReport& report);
    void setBusy(bool busy);
    void applySkipFilter();
    void removeSelected();

    AppSettings& m_settings;
    IngestJob* m_job;
    DropZone* m_dropZone;
    QPushButton* m_addFolder;
    QPushButton* m_addFiles;
    QComboBox* m_tokenizer;
    QSpinBox* m_bpeVocab;
    QCheckBox* m_includeSecrets;
    QProgressBar* m_progress;
    QLabel* m_progressText;
    QPushButton* m_cancel;
    QLabel* m_status;
    QListWidget* m_list;
    QPushButton* m_removeButton;
    QLabel* m_summary;
    QTableWidget* m_kinds;
    QLineEdit* m_skipFilter;
    QTableWidget* m_skipped;
    QPlainTextEdit* m_samples;
    QString m_pendingTokenizerFile;
};

}  // namespace mts::ui
