// One corpus builder for both front ends: the same folder through `mamba-studio-cli ingest` and
// through the studio's IngestJob gives the same corpus byte for byte (byte and BPE tokenizers),
// and a BPE ingest of a PDF folder extracts each PDF once.
#ifdef MTS_HAVE_INGEST

#include <filesystem>
#include <fstream>
#include <sstream>

#include <QSignalSpy>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "command_run.h"
#include "mts/core/corpus/corpus_info.h"
#include "mts/ingest/pdf_text.h"
#include "mts/ui/ingest_job.h"
#include "ui_test_support.h"

namespace fs = std::filesystem;
using mts::ui::IngestJob;
using mts::ui::IngestReport;
using mts::ui::IngestRequest;

namespace {

std::string readAll(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Runs the studio's ingest job to its end; fails the test on failed() or cancelled().
IngestReport runIngestJob(const IngestRequest& request) {
    IngestJob job;
    QSignalSpy finished(&job, &IngestJob::finished);
    QSignalSpy failed(&job, &IngestJob::failed);
    QSignalSpy cancelled(&job, &IngestJob::cancelled);
    EXPECT_TRUE(job.start(request));
    EXPECT_TRUE(mts::test::waitUntil([&] { return finished.count() + failed.count() + cancelled.count() > 0; }, 300000));
    EXPECT_EQ(failed.count(), 0) << (failed.isEmpty() ? std::string() : failed.front().front().toString().toStdString());
    EXPECT_EQ(cancelled.count(), 0);
    return finished.isEmpty() ? IngestReport{} : finished.front().front().value<IngestReport>();
}

// A folder of text, Markdown, code and two PDFs.
fs::path makeMixedFolder(const fs::path& root) {
    const fs::path src = root / "mixed";
    fs::create_directories(src / "code");
    for (int i = 0; i < 12; ++i) {
        std::ofstream out(src / ("note" + std::to_string(i) + ".txt"));
        for (int k = 0; k < 30 + i; ++k) out << "Note " << i << ", line " << k << ": the studio reads every file once.\n";
    }
    std::ofstream(src / "readme.md") << "# Notes\n\nA *small* folder for the corpus test.\n";
    std::ofstream(src / "code" / "tool.py") << "def main():\n    print('hello')\n\n\nmain()\n";
    std::ofstream(src / "code" / "lib.cpp") << "int add(int a, int b) { return a + b; }\n";
    for (const char* pdf : {"multicolumn.pdf", "pdflatex-4-pages.pdf"})
        fs::copy_file(mts::test::sharedPath(std::string("data/pdfs/") + pdf), src / pdf);
    return src;
}

}  // namespace

TEST(CorpusFrontEnds, CliAndStudioBuildTheSameCorpusByteForByte) {
    mts::test::uiApp();
    MTS_REQUIRE_SHARED(pdfs, "data/pdfs/multicolumn.pdf");
    const fs::path cli = mts::test::cliPath();
    ASSERT_TRUE(fs::exists(cli)) << "mamba-studio-cli not built: " << cli;
    mts::test::TempDir dir;
    const fs::path src = makeMixedFolder(dir.path());

    for (const std::string tokenizer : {"byte", "bpe:600"}) {
        SCOPED_TRACE(tokenizer);
        const std::string tag = tokenizer == "byte" ? "byte" : "bpe";
        const fs::path viaCli = dir / ("cli-" + tag), viaStudio = dir / ("studio-" + tag);
        // The CLI from another working folder with a relative source: the corpus must not care.
        const auto run = mts::test::runCommand("cd " + mts::test::shellQuoted(dir.path().string()) + " && " +
                                               mts::test::shellQuoted(cli.string()) + " -q ingest mixed/ --out " +
                                               mts::test::shellQuoted(viaCli.string()) + " --tokenizer " + tokenizer +
                                               " 2>&1");
        ASSERT_EQ(run.exitCode, 0) << run.out;

        IngestRequest request;
        request.sources = {mts::test::qpath(src)};
        request.outputDir = mts::test::qpath(viaStudio);
        if (tokenizer != "byte") {
            request.tokenizer = QStringLiteral("bpe");
            request.bpeVocab = 600;
        }
        const IngestReport report = runIngestJob(request);
        ASSERT_EQ(report.corpusDir, mts::test::qpath(viaStudio));
        EXPECT_EQ(report.tokenizer, QString::fromStdString(tag));

        for (const char* f : {"train.bin", "val.bin", "tokenizer.json", "documents.jsonl"}) {
            const std::string a = readAll(viaCli / f), b = readAll(viaStudio / f);
            EXPECT_FALSE(a.empty()) << f;
            EXPECT_TRUE(a == b) << f << " differs (" << a.size() << " vs " << b.size() << " bytes)";
        }
        const auto cliManifest = nlohmann::json::parse(readAll(viaCli / "manifest.json"));
        const auto studioManifest = nlohmann::json::parse(readAll(viaStudio / "manifest.json"));
        EXPECT_EQ(mts::stableManifest(cliManifest), mts::stableManifest(studioManifest))
            << "CLI:\n" << mts::stableManifest(cliManifest).dump(1) << "\nstudio:\n" << mts::stableManifest(studioManifest).dump(1);
        // The corpus really is the mixed folder: every kind, the PDFs' text, a real split.
        EXPECT_EQ(studioManifest["kinds"]["pdf"]["documents"], 2);
        EXPECT_EQ(studioManifest["kinds"]["code"]["documents"], 2);
        EXPECT_GT(studioManifest["tokens"]["val"].get<uint64_t>(), 0u);
        // The report the Dataset page shows: validation tokens per kind, adding up to the split's.
        uint64_t valByKind = 0;
        for (const auto& k : report.kinds) {
            if (k.tokens >= 2000) {
                EXPECT_GT(k.valTokens, 0u) << k.kind.toStdString();
            }
            valByKind += k.valTokens;
        }
        EXPECT_EQ(valByKind, report.valTokens);
        EXPECT_EQ(valByKind, studioManifest["tokens"]["val"].get<uint64_t>());
        EXPECT_EQ(studioManifest["ingest"]["pdf_extractions"], 2);
        if (tokenizer != "byte") {
            EXPECT_EQ(studioManifest["tokenizer"]["vocab_size"], 600);
        }
    }
}

TEST(CorpusFrontEnds, StudioBpeIngestOfAPdfFolderExtractsEachPdfOnce) {
    mts::test::uiApp();
    MTS_REQUIRE_SHARED(pdfs, "data/pdfs");
    int pdfFiles = 0;
    for (const auto& e : fs::directory_iterator(pdfs)) pdfFiles += e.path().extension() == ".pdf" ? 1 : 0;
    ASSERT_GE(pdfFiles, 5);
    mts::test::TempDir dir;
    IngestRequest request;
    request.sources = {mts::test::qpath(pdfs)};
    request.outputDir = mts::test::qpath(dir / "corpus");
    request.tokenizer = QStringLiteral("bpe");
    request.bpeVocab = 512;
    const uint64_t before = mts::ingest::pdfExtractionCount();
    const IngestReport report = runIngestJob(request);
    const uint64_t extractions = mts::ingest::pdfExtractionCount() - before;
    EXPECT_EQ(extractions, uint64_t(pdfFiles));  // the old job ran the whole ingest twice for BPE
    EXPECT_EQ(report.pdfExtractions, quint64(pdfFiles));
    EXPECT_EQ(report.tokenizer, QStringLiteral("bpe"));
    EXPECT_GT(report.trainTokens, 0u);
    bool pdfRow = false;
    for (const auto& k : report.kinds) pdfRow = pdfRow || (k.kind == QStringLiteral("pdf") && k.documents > 0);
    EXPECT_TRUE(pdfRow);
}

#endif  // MTS_HAVE_INGEST
