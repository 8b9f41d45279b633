#include "mts/ui/ingest_job.h"

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <QMetaObject>

#include "mts/core/corpus/corpus_builder.h"
#include "mts/core/corpus/corpus_info.h"
#ifdef MTS_HAVE_INGEST
#include "mts/ingest/ingest.h"
#endif

namespace mts::ui {

namespace {

constexpr int kSampleDocs = 5;
constexpr int kSampleChars = 600;

QString q(const std::string& s) { return QString::fromStdString(s); }

}  // namespace

IngestJob::IngestJob(QObject* parent) : QObject(parent) {}

IngestJob::~IngestJob() {
    m_cancel = true;
    m_thread.join();
}

void IngestJob::cancel() { m_cancel = true; }

bool IngestJob::start(const IngestRequest& request) {
    if (running()) return false;
    m_thread.join();
    m_cancel = false;
    m_thread.start([this, request] {
        auto fail = [this](const QString& message) {
            QMetaObject::invokeMethod(this, [this, message] { Q_EMIT failed(message); }, Qt::QueuedConnection);
        };
        runGuarded(
            [&] {
#ifndef MTS_HAVE_INGEST
                fail(QStringLiteral("This build has no ingest module (MTS_BUILD_INGEST=OFF)."));
                return;
#else
                ingest::IngestOptions options;
                // Absolute sources, as the CLI records them: the same folder gives the same corpus.
                for (const QString& src : request.sources) options.sources.push_back(ingest::normalizedSource(src.toStdString()));
                options.cancel = &m_cancel;
                options.includeSecrets = request.includeSecrets;
                const auto started = std::chrono::steady_clock::now();
                auto lastProgress = started - std::chrono::seconds(1);
                IngestProgressInfo info;  // the worker's latest, sent at most ~10 times a second
                auto send = [&](bool force) {
                    const auto now = std::chrono::steady_clock::now();
                    if (!force && now - lastProgress < std::chrono::milliseconds(90)) return;
                    lastProgress = now;
                    info.seconds = std::chrono::duration<double>(now - started).count();
                    QMetaObject::invokeMethod(this, [this, info] { Q_EMIT progress(info); }, Qt::QueuedConnection);
                };
                auto onIngest = [&](const ingest::IngestProgress& p) {
                    info.phase = QStringLiteral("reading");
                    info.filesDone = p.filesDone;
                    info.filesTotal = p.filesTotal;
                    info.bytesDone = p.bytesDone;
                    info.bytesTotal = p.bytesTotal;
                    info.documents = p.documents;
                    info.currentFile = q(p.currentFile);
                    info.bytesPerSecond = p.bytesPerSecond;
                    send(p.filesDone >= p.filesTotal);
                };
                auto onBuild = [&](const CorpusBuildProgress& p) {
                    if (p.phase == CorpusBuildPhase::Reading) return;  // ingest's progress is richer
                    info.phase = QString::fromLatin1(phaseName(p.phase));
                    info.currentFile.clear();
                    info.merges = p.merges;
                    info.mergesTotal = p.mergesTotal;
                    info.documents = p.documents;
                    info.documentsTotal = p.documentsTotal;
                    send(true);
                };

                CorpusBuildConfig config;
                config.outDir = request.outputDir.toStdString();
                config.tokenizer = request.tokenizer == QLatin1String("bpe")
                                       ? "bpe:" + std::to_string(request.bpeVocab)
                                       : request.tokenizer.isEmpty() ? std::string("byte") : request.tokenizer.toStdString();
                config.valFraction = request.valFraction;
                config.seed = request.seed;
                for (const QString& s : request.sources) config.sources.emplace_back(s.toStdString());

                QVector<QPair<QString, QString>> samples;
                ingest::IngestResult result;
                const CorpusDocumentSource source = [&](const CorpusDocumentSink& sink) {
                    result = ingest::ingest(
                        options,
                        [&](const ingest::Document& doc) {
                            if (samples.size() < kSampleDocs && !doc.text.empty())
                                samples.push_back({q(doc.source), q(doc.text.substr(0, kSampleChars * 2)).left(kSampleChars)});
                            return sink({doc.source, doc.kind, doc.text});
                        },
                        onIngest);
                    if (!result.cancelled && result.documents == 0) {
                        QString reasons;
                        for (const auto& [reason, n] : result.skippedByReason)
                            reasons += QStringLiteral(" %1: %2;").arg(q(reason)).arg(n);
                        throw std::runtime_error(QStringLiteral("No usable text was found in the dropped items (%1 files "
                                                                "seen;%2). Drop folders with text, code, Markdown or PDF files.")
                                                     .arg(result.filesSeen)
                                                     .arg(reasons)
                                                     .toStdString());
                    }
                    return ingest::manifestJson(options, result);
                };
                const CorpusBuildResult built = buildCorpus(config, source, onBuild, &m_cancel);
                if (built.cancelled) {
                    QMetaObject::invokeMethod(this, [this] { Q_EMIT cancelled(); }, Qt::QueuedConnection);
                    return;
                }
                IngestReport report = readCorpus(QString::fromStdString(built.summary.dir.string()));
                report.samples = samples;  // from the live stream: the manifest keeps no texts
                report.pdfExtractions = result.pdfExtractions;
                report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
                QMetaObject::invokeMethod(this, [this, report] { Q_EMIT finished(report); }, Qt::QueuedConnection);
#endif
            },
            fail);
    });
    return true;
}

IngestReport IngestJob::readCorpus(const QString& corpusDir) {
    const CorpusInfo info = readCorpusInfo(corpusDir.toStdString());
    IngestReport r;
    r.corpusDir = corpusDir;
    r.files = info.files;
    r.documents = info.documents;
    r.trainTokens = info.trainTokens;
    r.valTokens = info.valTokens;
    r.textBytes = info.textBytes;
    r.tokenizer = q(info.tokenizerKind);
    r.vocabSize = info.vocabSize;
    for (const CorpusKindInfo& k : info.kinds) r.kinds.push_back({q(k.kind), k.files, k.documents, k.bytes, k.tokens, k.valTokens});
    for (const CorpusSkippedFile& s : info.skipped) r.skipped.push_back({q(s.path), q(s.reason), q(s.detail)});
    for (const std::string& w : info.warnings) r.warnings << q(w);
    return r;
}

}  // namespace mts::ui
