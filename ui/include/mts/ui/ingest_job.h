#pragma once
// IngestJob: the Qt adapter that turns dropped folders/files into a token corpus on one worker
// thread: core's corpus builder (mts/core/corpus/corpus_builder.h) with mts::ingest::ingest as
// its document source, exactly as `mamba-studio-cli ingest` does, so the same folder and
// options give the same corpus byte for byte. One pass over the sources, BPE included.
//
// Threading: call from the GUI thread; signals arrive on the GUI thread (queued). cancel()
// returns at once; the worker stops between files (or BPE merges) and everything half-built is
// removed (the builder only renames its temporary folder on success). Exceptions become failed().
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
    // The split, with the CLI's defaults (`mamba-studio-cli ingest --val-fraction --seed`).
    double valFraction = 0.05;
    quint64 seed = 0;
    // Read private keys, .env files and credential stores too (`ingest --include-secrets`);
    // off: they are skipped with reason "secret" and listed in the report.
    bool includeSecrets = false;
};

struct IngestProgressInfo {
    QString phase;  // "reading", "training BPE", "writing" (mts::phaseName)
    quint64 filesDone = 0, filesTotal = 0;  // reading
    quint64 bytesDone = 0, bytesTotal = 0;  // reading: input bytes
    quint64 documents = 0;                  // read so far; "writing": written so far ...
    quint64 documentsTotal = 0;             // ... of this many
    qint64 merges = 0, mergesTotal = 0;     // "training BPE"
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
    quint64 valTokens = 0;  // of `tokens`, those in the validation split
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
    QStringList warnings;        // the corpus's (writer, BPE trainer), then ingest's
    QString tokenizer;           // "byte", "bpe", ...
    qint64 vocabSize = 0;
    quint64 pdfExtractions = 0;  // PDF files poppler ran on during this build (0 for readCorpus)
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

    /// Reads a finished corpus folder's manifest.json into a report through core's reader
    /// (mts::readCorpusInfo; any thread, small file). Throws mts::FormatError naming the
    /// manifest for a folder that is not a corpus.
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
