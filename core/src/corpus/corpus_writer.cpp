// CorpusWriter: documents -> tokenized, split corpus directory, written atomically.
#include "mts/core/corpus/corpus_writer.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include "mts/core/corpus/corpus_output.h"
#include "mts/core/runtime/durable_file.h"
#include "corpus/chunk_split.h"
#include "mts/core/runtime/errors.h"
#include "runtime/owned_temp.h"

namespace mts {

namespace fs = std::filesystem;

namespace {
std::string isoTimeNow() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void writeTextFile(const fs::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error(file.string() + ": write failed (disk full?)");
    out.close();
    fsyncPath(file);
}

bool goesToVal(const std::string& source, uint64_t seed, double fraction) {
    if (fraction <= 0) return false;
    const uint64_t h = XXH64(source.data(), source.size(), seed);
    const double u = static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
    return u < fraction;
}
}  // namespace

CorpusWriter::CorpusWriter(CorpusWriterConfig config, const Tokenizer& tokenizer)
    : m_config(std::move(config)), m_tokenizer(tokenizer) {
    if (m_config.outDir.empty()) throw std::runtime_error("corpus: no output directory given");
    const auto eos = tokenizer.eosId();
    if (!eos) throw std::runtime_error("corpus: the tokenizer has no end-of-document token");
    m_eos = *eos;
    if (m_config.valFraction < 0 || m_config.valFraction > 1)
        throw ConfigError("val_fraction must be within 0..1");
    m_config.outDir = corpusOutputDir(m_config.outDir);
    checkCorpusOutput(m_config.outDir, m_config.overwrite, m_config.sources);
    std::error_code ec;
    const fs::path parent = fs::absolute(m_config.outDir).parent_path();
    fs::create_directories(parent, ec);
    if (ec) throw std::runtime_error(parent.string() + ": cannot create: " + ec.message());
    detail::sweepStaleTempDirs(parent);  // what a killed build left here
    m_tmpDir = detail::makeOwnedTempDir(parent, m_config.outDir.filename().string());
    const uint32_t dtype = tokenizer.vocabSize() <= 65536 ? 2 : 4;
    try {
        m_train = std::make_unique<TokenFileWriter>(m_tmpDir / "train.bin", dtype);
        m_val = std::make_unique<TokenFileWriter>(m_tmpDir / "val.bin", dtype);
    } catch (...) {
        abort();
        throw;
    }
}

CorpusWriter::~CorpusWriter() {
    if (!m_done) abort();
}

void CorpusWriter::abort() noexcept {
    m_done = true;
    try {
        if (m_train) m_train->close();
        if (m_val) m_val->close();
        m_train.reset();
        m_val.reset();
        std::error_code ec;
        if (!m_tmpDir.empty()) fs::remove_all(m_tmpDir, ec);
        m_tmpDir.clear();
        m_batch.clear();
    } catch (...) {
    }
}

void CorpusWriter::add(CorpusDocument doc) {
    if (m_done) throw std::runtime_error("corpus: add() after finish() or abort()");
    ++m_docsAdded;
    m_bytesAdded += doc.text.size();
    if (doc.text.empty()) {
        ++m_emptyDocs;
        return;
    }
    m_batchBytes += doc.text.size();
    m_batch.push_back(std::move(doc));
    if (m_batchBytes >= m_config.batchBytes) flushBatch();
}

void CorpusWriter::flushBatch() {
    if (m_batch.empty()) return;
    std::vector<std::vector<int32_t>> ids(m_batch.size());
    int threads = m_config.threads > 0 ? m_config.threads : static_cast<int>(std::thread::hardware_concurrency());
    threads = std::clamp(threads, 1, 16);
    threads = std::min<int>(threads, static_cast<int>(m_batch.size()));
    auto work = [&](int t) {
        for (size_t i = static_cast<size_t>(t); i < m_batch.size(); i += static_cast<size_t>(threads))
            ids[i] = m_tokenizer.encode(m_batch[i].text);
    };
    try {
        if (threads <= 1) {
            work(0);
        } else {
            std::vector<std::thread> pool;
            std::exception_ptr error;
            std::mutex errorMutex;
            for (int t = 0; t < threads; ++t)
                pool.emplace_back([&, t] {
                    try {
                        work(t);
                    } catch (...) {
                        std::lock_guard<std::mutex> lock(errorMutex);
                        if (!error) error = std::current_exception();
                    }
                });
            for (auto& th : pool) th.join();
            if (error) std::rethrow_exception(error);
        }
        for (size_t i = 0; i < m_batch.size(); ++i) {
            CorpusDocument& doc = m_batch[i];
            std::vector<int32_t>& tokens = ids[i];
            tokens.push_back(m_eos);
            DocRecord rec;
            rec.source = std::move(doc.source);
            rec.kind = doc.kind;
            rec.val = m_config.split == CorpusSplit::ByDocument &&
                      goesToVal(rec.source, m_config.seed, m_config.valFraction);
            if (m_config.split == CorpusSplit::Chunks)
                rec.contentHash = XXH64(tokens.data(), tokens.size() * sizeof(int32_t), 0);
            TokenFileWriter& out = rec.val ? *m_val : *m_train;
            rec.offset = out.count();
            rec.tokens = tokens.size();
            out.append(tokens);
            auto& k = m_summary.kinds[doc.kind];
            ++k.documents;
            k.bytes += doc.text.size();
            k.tokens += tokens.size();
            m_summary.textBytes += doc.text.size();
            m_docs.push_back(std::move(rec));
        }
    } catch (...) {
        abort();
        throw;
    }
    m_batch.clear();
    m_batchBytes = 0;
}

void CorpusWriter::topUpValidation() {
    const uint64_t total = m_train->count() + m_val->count();
    const uint64_t need = std::min<uint64_t>(m_config.minValTokens, total / 2);
    size_t cursor = m_docs.size();
    while (m_val->count() < need) {
        // The last document still in train.
        while (cursor > 0 && (m_docs[cursor - 1].val)) --cursor;
        if (cursor == 0) break;
        DocRecord& rec = m_docs[cursor - 1];
        const uint64_t missing = need - m_val->count();
        const bool othersInTrain = m_train->count() > rec.tokens;
        // Whole documents when possible (val may overshoot the minimum; never past half).
        if (othersInTrain && m_val->count() + rec.tokens <= total / 2) {
            const auto tokens = m_train->readBack(rec.offset, rec.tokens);
            m_train->truncate(rec.offset);
            rec.val = true;
            rec.offset = m_val->count();
            m_val->append(tokens);
            continue;
        }
        // Split the document: its last `take` tokens (with the end-of-document id) go to val.
        const uint64_t take = std::min<uint64_t>(missing, rec.tokens - 1);
        if (take == 0) break;
        const uint64_t headTokens = rec.tokens - take;
        const auto tail = m_train->readBack(rec.offset + headTokens, take);
        m_train->truncate(rec.offset + headTokens);
        DocRecord tailRec = rec;
        tailRec.val = true;
        tailRec.offset = m_val->count();
        tailRec.tokens = take;
        tailRec.part = 2;
        rec.tokens = headTokens;
        rec.part = 1;
        m_val->append(tail);
        m_summary.warnings.push_back("too few documents for the minimum validation size: the tail of '" +
                                     rec.source + "' (" + std::to_string(take) + " tokens) was moved to val");
        m_docs.push_back(std::move(tailRec));
        break;
    }
}

void CorpusWriter::splitTail() {
    const uint64_t total = m_train->count();
    const auto share = static_cast<uint64_t>(static_cast<double>(total) * m_config.valFraction);
    const uint64_t need = std::min<uint64_t>(std::max<uint64_t>(share, m_config.minValTokens), total);
    if (need == 0) return;
    const uint64_t cut = total - need;
    // Copied in chunks so a long text never needs its whole validation share in memory.
    constexpr uint64_t kChunk = 1u << 20;
    for (uint64_t at = cut; at < total; at += kChunk) m_val->append(m_train->readBack(at, std::min(kChunk, total - at)));
    m_train->truncate(cut);
    for (size_t i = 0; i < m_docs.size(); ++i) {
        DocRecord& rec = m_docs[i];
        if (rec.offset >= cut) {
            rec.val = true;
            rec.offset -= cut;
        } else if (rec.offset + rec.tokens > cut) {
            DocRecord tailRec = rec;
            tailRec.val = true;
            tailRec.offset = 0;
            tailRec.tokens = rec.offset + rec.tokens - cut;
            tailRec.part = 2;
            rec.tokens = cut - rec.offset;
            rec.part = 1;
            m_docs.insert(m_docs.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(tailRec));
            ++i;
        }
    }
}

void CorpusWriter::splitChunks() {
    std::vector<detail::SplitDocument> docs;
    docs.reserve(m_docs.size());
    for (const DocRecord& d : m_docs) docs.push_back({d.tokens, d.contentHash, d.kind});
    const detail::SplitPlan plan =
        detail::planChunkSplit(docs, m_config.valFraction, m_config.minValTokens, m_config.seed);
    m_summary.chunkTokens = plan.chunkTokens;
    if (std::none_of(plan.pieces.begin(), plan.pieces.end(), [](const auto& p) { return p.val; })) return;

    std::vector<int> piecesOf(m_docs.size(), 0);
    for (const auto& p : plan.pieces) ++piecesOf[p.document];
    std::vector<int> partOf(m_docs.size(), 0);
    const uint32_t dtype = m_tokenizer.vocabSize() <= 65536 ? 2 : 4;
    auto train = std::make_unique<TokenFileWriter>(m_tmpDir / "train.split.bin", dtype);
    std::vector<DocRecord> out;
    out.reserve(plan.pieces.size());
    constexpr uint64_t kCopy = 1u << 20;  // a long piece is copied in bounded slices
    for (const auto& p : plan.pieces) {
        const DocRecord& src = m_docs[p.document];
        TokenFileWriter& dst = p.val ? *m_val : *train;
        DocRecord r;
        r.source = src.source;
        r.kind = src.kind;
        r.val = p.val;
        r.offset = dst.count();
        for (uint64_t at = 0; at < p.tokens; at += kCopy)
            dst.append(m_train->readBack(src.offset + p.begin + at, std::min(kCopy, p.tokens - at)));
        const bool endsDocument = p.begin + p.tokens == src.tokens;
        if (!endsDocument) dst.append(std::vector<int32_t>{m_eos});  // a cut: the piece still ends a text
        r.tokens = p.tokens + (endsDocument ? 0 : 1);
        r.part = piecesOf[p.document] > 1 ? ++partOf[p.document] : 0;
        out.push_back(std::move(r));
    }
    m_train->close();
    std::error_code ec;
    fs::remove(m_tmpDir / "train.bin", ec);
    m_train = std::move(train);
    m_trainRewritten = true;
    m_docs = std::move(out);
}

void CorpusWriter::writeDocumentsIndex(const fs::path& file) const {
    std::string text;
    for (const auto& d : m_docs) {
        nlohmann::ordered_json line{{"source", d.source}, {"kind", d.kind}, {"split", d.val ? "val" : "train"},
                                    {"offset", d.offset}, {"tokens", d.tokens}};
        if (d.part) line["part"] = d.part;
        text += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        text += '\n';
    }
    writeTextFile(file, text);
}

CorpusSummary CorpusWriter::finish(const nlohmann::json& extraManifest) {
    if (m_done) throw std::runtime_error("corpus: finish() after finish() or abort()");
    try {
        flushBatch();
        if (m_config.split == CorpusSplit::Tail)
            splitTail();
        else if (m_config.split == CorpusSplit::Chunks)
            splitChunks();
        else
            topUpValidation();
        m_summary.trainTokens = m_train->count();
        m_summary.valTokens = m_val->count();
        // Whole documents per side: a split document counts once in each side it has a piece in.
        for (size_t i = 0; i < m_docs.size(); ++i) {
            const DocRecord& d = m_docs[i];
            if (d.val) m_summary.kinds[d.kind].valTokens += d.tokens;
            if (d.part > 1) continue;
            bool inTrain = !d.val, inVal = d.val;
            // Tail and ByDocument split a document in two (head in train, tail in val, the
            // tail's record not always next); Chunks keeps a document's pieces together.
            if (d.part == 1 && m_config.split != CorpusSplit::Chunks) inTrain = inVal = true;
            for (size_t j = i + 1; d.part == 1 && m_config.split == CorpusSplit::Chunks && j < m_docs.size() &&
                                   m_docs[j].part > 1;
                 ++j) {
                inTrain = inTrain || !m_docs[j].val;
                inVal = inVal || m_docs[j].val;
            }
            ++m_summary.documents;
            if (inTrain) ++m_summary.trainDocuments;
            if (inVal) ++m_summary.valDocuments;
        }
        if (m_summary.documents == 0) m_summary.warnings.push_back("the corpus holds no documents");
        if (m_emptyDocs) m_summary.warnings.push_back(std::to_string(m_emptyDocs) + " empty documents were skipped");
        m_train->finish();
        m_val->finish();
        if (m_trainRewritten) fs::rename(m_tmpDir / "train.split.bin", m_tmpDir / "train.bin");
        m_tokenizer.save(m_tmpDir / "tokenizer.json");
        fsyncPath(m_tmpDir / "tokenizer.json");
        writeDocumentsIndex(m_tmpDir / "documents.jsonl");

        nlohmann::ordered_json manifest = nlohmann::ordered_json::object();
        if (extraManifest.is_object())
            for (auto it = extraManifest.begin(); it != extraManifest.end(); ++it) manifest[it.key()] = it.value();
        const uint32_t dtype = m_tokenizer.vocabSize() <= 65536 ? 2 : 4;
        manifest["format"] = "mts-corpus";
        manifest["version"] = 1;
        manifest["created"] = isoTimeNow();
        manifest["tokenizer"] = {{"kind", m_tokenizer.kind()},
                                 {"vocab_size", m_tokenizer.vocabSize()},
                                 {"eos_id", m_eos},
                                 {"file", "tokenizer.json"}};
        manifest["dtype"] = dtype == 2 ? "uint16" : "uint32";
        manifest["split"] = {{"by", m_config.split == CorpusSplit::Tail       ? "tail"
                                    : m_config.split == CorpusSplit::Chunks ? "chunks"
                                                                             : "document"},
                             {"val_fraction", m_config.valFraction},
                             {"min_val_tokens", m_config.minValTokens},
                             {"seed", m_config.seed}};
        if (m_config.split == CorpusSplit::Chunks) manifest["split"]["chunk_tokens"] = m_summary.chunkTokens;
        manifest["documents"] = {{"total", m_summary.documents},
                                 {"train", m_summary.trainDocuments},
                                 {"val", m_summary.valDocuments},
                                 {"empty_skipped", m_emptyDocs}};
        manifest["tokens"] = {{"train", m_summary.trainTokens}, {"val", m_summary.valTokens}};
        manifest["text_bytes"] = m_summary.textBytes;
        nlohmann::ordered_json kinds = nlohmann::ordered_json::object();
        for (const auto& [name, k] : m_summary.kinds)
            kinds[name] = {{"documents", k.documents}, {"bytes", k.bytes}, {"tokens", k.tokens},
                           {"val_tokens", k.valTokens}};
        manifest["kinds"] = kinds;
        manifest["warnings"] = m_summary.warnings;
        writeTextFile(m_tmpDir / "manifest.json",
                      manifest.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
        fsyncPath(m_tmpDir);

        // Swap in: the old corpus (overwrite) is moved aside first, so outDir is never half-written.
        std::error_code ec;
        fs::path old;
        if (fs::exists(fs::symlink_status(m_config.outDir, ec))) {
            if (!m_config.overwrite) throw std::runtime_error(m_config.outDir.string() + ": appeared while writing");
            if (!isMtsCorpusFolder(m_config.outDir))
                throw std::runtime_error(m_config.outDir.string() +
                                         ": not replaced: it is no longer a Mamba Studio corpus (changed while writing)");
            old = m_tmpDir;
            old += ".old";
            fs::rename(m_config.outDir, old);
        }
        fs::rename(m_tmpDir, m_config.outDir);
        if (!old.empty()) fs::remove_all(old, ec);
        fsyncPath(fs::absolute(m_config.outDir).parent_path());
    } catch (...) {
        abort();
        throw;
    }
    m_train.reset();
    m_val.reset();
    m_tmpDir.clear();
    m_done = true;
    m_summary.dir = m_config.outDir;
    return m_summary;
}

}  // namespace mts
