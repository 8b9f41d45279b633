#pragma once
// IngestJob: the Qt adapter that turns dropped folders/files into a token corpus:
// mts::ingest::ingest (documents) -> mts::CorpusWriter (tokens) on one worker thread.
//
// Threading: call from the GUI thread; signals arrive on the GUI thread (queued). cancel()
// returns at once; the worker stops between files and the half-built corpus is removed (the
// CorpusWriter only renames its temporary folder on success). Exceptions become failed().
#include <atomic>
#include <memory>

#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>

#include "mts/ui/job_thread.h"

namespace mts::ui {

struct IngestRequest {
    QStringList sources;          // folders, git repositories, files
    QString outputDir;            // corpus folder to create (must not exist)
    QString tokenizer = QStringLiteral("byte");  // "byte", "bpe" (trained on these sources), or a tokenizer.json path / folder
    int bpeVocab = 4096;          // vocabulary size when tokenizer == "bpe"
    double valFraction = 0.05;
};

struct IngestProgressInfo {
    QString phase;  // "reading", "training BPE" (a first pass), "tokenizing"
    quint64 filesDone = 0, filesTotal = 0;
    quint64 bytesDone = 0, bytesTotal = 0;
    quint64 documents = 0;
    QString currentFile;
    double bytesPerSecond = 0.0;
    double seconds = 0.0;
};

struct IngestKindRow {
    QString kind;
    quint64 files = 0;
    quint64 documents = 0;
    quint64 bytes = 0;   // clean text bytes
    quint64 tokens = 0;
};

struct IngestSkip {
    QString path, reason, detail;
};

struct IngestReport {
    QString corpusDir;
    QVector<IngestKindRow> kinds;
    QVector<IngestSkip> skipped;
    QVector<QPair<QString, QString>> samples;  // (source, first characters of the text)
    quint64 files = 0, documents = 0, trainTokens = 0, valTokens = 0, textBytes = 0;
    QStringList warnings;
    double seconds = 0.0;
};

class IngestJob : public QObject {
    Q_OBJECT
public:
    explicit IngestJob(QObject* parent = nullptr);
    ~IngestJob() override;  // cancels and joins

    /// Starts the job; returns false when one is already running.
    bool start(const IngestRequest& request);
    void cancel();
    bool running() const { return m_thread.running(); }

    /// Reads a finished corpus folder's manifest.json into a report (GUI thread; small file).
    /// Throws FormatError-like std::runtime_error for a folder that is not a corpus.
    static IngestReport readCorpus(const QString& corpusDir);

Q_SIGNALS:
    void progress(const IngestProgressInfo& info);
    void finished(const IngestReport& report);
    void cancelled();
    void failed(const QString& message);

private:
    std::atomic<bool> m_cancel{false};
    JobThread m_thread;
};

}  // namespace mts::ui

Q_DECLARE_METATYPE(mts::ui::IngestReport)
Q_DECLARE_METATYPE(mts::ui::IngestProgressInfo)
