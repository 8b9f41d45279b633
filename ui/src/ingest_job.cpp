#include "mts/ui/ingest_job.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include <QMetaObject>

#include <nlohmann/json.hpp>

#include "mts/core/corpus/corpus_writer.h"
#include "mts/core/tokenize/bpe_trainer.h"
#include "mts/core/tokenize/tokenizer.h"
#ifdef MTS_HAVE_INGEST
#include "mts/ingest/ingest.h"
#endif

namespace mts::ui {

namespace {

constexpr int kSampleDocs = 5;
constexpr int kSampleChars = 600;

QString q(const std::string& s) { return QString::fromStdString(s); }

quint64 u64(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<quint64>() : 0;
}

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
                for (const QString& src : request.sources) options.sources.emplace_back(src.toStdString());
                options.cancel = &m_cancel;
                const auto started = std::chrono::steady_clock::now();
                auto lastProgress = started - std::chrono::seconds(1);
                auto forward = [&](const ingest::IngestProgress& p, const QString& phase) {
                    // The ingest reports every ~100 ms; forward at most ~10 updates a second.
                    const auto now = std::chrono::steady_clock::now();
                    if (now - lastProgress < std::chrono::milliseconds(90) && p.filesDone < p.filesTotal) return;
                    lastProgress = now;
                    IngestProgressInfo info;
                    info.phase = phase;
                    info.filesDone = p.filesDone;
                    info.filesTotal = p.filesTotal;
                    info.bytesDone = p.bytesDone;
                    info.bytesTotal = p.bytesTotal;
                    info.documents = p.documents;
                    info.currentFile = q(p.currentFile);
                    info.bytesPerSecond = p.bytesPerSecond;
                    info.seconds = p.seconds;
                    QMetaObject::invokeMethod(this, [this, info] { Q_EMIT progress(info); }, Qt::QueuedConnection);
                };
                auto reportCancelled = [this] {
                    QMetaObject::invokeMethod(this, [this] { Q_EMIT cancelled(); }, Qt::QueuedConnection);
                };

                std::unique_ptr<Tokenizer> tokenizer;
                if (request.tokenizer.isEmpty() || request.tokenizer == QLatin1String("byte")) {
                    tokenizer = makeByteTokenizer();
                } else if (request.tokenizer == QLatin1String("bpe")) {
                    // A first pass counts the text for the merges; the second writes the tokens.
                    BpeTrainerConfig bpeConfig;
                    bpeConfig.vocabSize = request.bpeVocab;
                    bpeConfig.cancel = &m_cancel;
                    BpeTrainer bpe(bpeConfig);
                    const ingest::IngestResult counted = ingest::ingest(
                        options,
                        [&](const ingest::Document& doc) {
                            bpe.addText(doc.text);
                            return !m_cancel.load();
                        },
                        [&](const ingest::IngestProgress& p) { forward(p, QStringLiteral("counting for BPE")); });
                    if (counted.cancelled || m_cancel.load()) return reportCancelled();
                    BpeTrainResult trained = bpe.train();
                    if (trained.cancelled || m_cancel.load()) return reportCancelled();
                    tokenizer = std::move(trained.tokenizer);
                } else {
                    tokenizer = loadTokenizer(request.tokenizer.toStdString());
                }
                CorpusWriterConfig writerConfig;
                writerConfig.outDir = request.outputDir.toStdString();
                writerConfig.valFraction = request.valFraction;
                CorpusWriter writer(writerConfig, *tokenizer);

                QVector<QPair<QString, QString>> samples;
                const ingest::IngestResult result = ingest::ingest(
                    options,
                    [&](const ingest::Document& doc) {
                        if (samples.size() < kSampleDocs && !doc.text.empty()) {
                            samples.push_back({q(doc.source), q(doc.text.substr(0, kSampleChars * 2)).left(kSampleChars)});
                        }
                        writer.add(CorpusDocument{doc.source, doc.kind, doc.text});
                        return !m_cancel.load();
                    },
                    [&](const ingest::IngestProgress& p) { forward(p, QStringLiteral("reading")); });
                if (result.cancelled || m_cancel.load()) {
                    writer.abort();
                    return reportCancelled();
                }
                if (result.documents == 0) {
                    writer.abort();
                    QString reasons;
                    for (const auto& [reason, n] : result.skippedByReason) reasons += QStringLiteral(" %1: %2;").arg(q(reason)).arg(n);
                    fail(QStringLiteral("No usable text was found in the dropped items (%1 files seen;%2). "
                                        "Drop folders with text, code, Markdown or PDF files.")
                             .arg(result.filesSeen)
                             .arg(reasons));
                    return;
                }
                nlohmann::json extra = nlohmann::json::object();
                extra["ingest"] = ingest::toJson(result);
                extra["ingest_settings"] = ingest::toJson(options);
                const CorpusSummary summary = writer.finish(extra);
                IngestReport report = readCorpus(QString::fromStdString(summary.dir.string()));
                report.samples = samples;  // from the live stream: the manifest keeps no texts
                report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
                QMetaObject::invokeMethod(this, [this, report] { Q_EMIT finished(report); }, Qt::QueuedConnection);
#endif
            },
            fail);
    });
    return true;
}

IngestReport IngestJob::readCorpus(const QString& corpusDir) {
    const std::filesystem::path dir = corpusDir.toStdString();
    std::ifstream in(dir / "manifest.json");
    if (!in) throw std::runtime_error((dir / "manifest.json").string() + ": cannot open (not a corpus folder?)");
    nlohmann::json m;
    try {
        in >> m;
    } catch (const std::exception& e) {
        throw std::runtime_error((dir / "manifest.json").string() + ": " + e.what());
    }
    IngestReport r;
    r.corpusDir = corpusDir;
    // The writer's counts (corpus_writer.cpp) at the top level; the ingest report under "ingest".
    if (auto d = m.find("documents"); d != m.end() && d->is_object()) r.documents = u64(*d, "total");
    if (auto t = m.find("tokens"); t != m.end() && t->is_object()) {
        r.trainTokens = u64(*t, "train");
        r.valTokens = u64(*t, "val");
    }
    r.textBytes = u64(m, "text_bytes");
    std::map<std::string, IngestKindRow> rows;
    if (auto k = m.find("kinds"); k != m.end() && k->is_object()) {
        for (auto it = k->begin(); it != k->end(); ++it) {
            IngestKindRow& row = rows[it.key()];
            row.kind = q(it.key());
            row.documents = u64(it.value(), "documents");
            row.bytes = u64(it.value(), "bytes");
            row.tokens = u64(it.value(), "tokens");
        }
    }
    if (auto ing = m.find("ingest"); ing != m.end() && ing->is_object()) {
        r.files = u64(*ing, "files_ingested");
        if (auto k = ing->find("kinds"); k != ing->end() && k->is_object()) {
            for (auto it = k->begin(); it != k->end(); ++it) {
                IngestKindRow& row = rows[it.key()];
                row.kind = q(it.key());
                row.files = u64(it.value(), "files");
                if (!row.documents) row.documents = u64(it.value(), "documents");
                if (!row.bytes) row.bytes = u64(it.value(), "bytes");
            }
        }
        if (auto s = ing->find("skipped"); s != ing->end() && s->is_array()) {
            for (const auto& item : *s) {
                if (!item.is_object()) continue;
                r.skipped.push_back({q(item.value("path", std::string())), q(item.value("reason", std::string())),
                                     q(item.value("detail", std::string()))});
            }
        }
        if (auto w = ing->find("warnings"); w != ing->end() && w->is_array()) {
            for (const auto& item : *w) if (item.is_string()) r.warnings << q(item.get<std::string>());
        }
    }
    for (auto& [kind, row] : rows) r.kinds.push_back(row);
    return r;
}

}  // namespace mts::ui
