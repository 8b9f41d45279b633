// The Dataset page's safety: "Include secrets" is off by default (a .env is skipped and listed
// as "secret"), on lets it in — the same switch as `ingest --include-secrets`; a PDF that
// crashes poppler costs that file only, the studio's ingest job finishes.
#ifdef MTS_HAVE_INGEST

#include <filesystem>
#include <fstream>

#include <QCheckBox>
#include <QSignalSpy>
#include <QTableWidget>

#include <gtest/gtest.h>

#include "mts/ui/app_settings.h"
#include "mts/ui/dataset_page.h"
#include "../ingest/minimal_pdf.h"
#include "ui_test_support.h"

namespace fs = std::filesystem;
using mts::ui::AppSettings;
using mts::ui::DatasetPage;

namespace {

// Builds a dataset from `src` through the page; returns the skipped table's reasons.
QStringList buildAndListReasons(DatasetPage& page, const fs::path& src) {
    QSignalSpy added(&page, &DatasetPage::datasetAdded);
    QSignalSpy failed(&page, &DatasetPage::ingestFailed);
    EXPECT_TRUE(page.addSources({mts::test::qpath(src)}));
    EXPECT_TRUE(mts::test::waitUntil([&] { return added.count() + failed.count() > 0; }, 120000));
    EXPECT_EQ(failed.count(), 0);
    QStringList reasons;
    auto* skipped = page.findChild<QTableWidget*>(QStringLiteral("skippedTable"));
    for (int r = 0; skipped && r < skipped->rowCount(); ++r) reasons << skipped->item(r, 1)->text();
    return reasons;
}

}  // namespace

TEST(DatasetSafety, CheckboxDecidesWhetherSecretsAreRead) {
    mts::test::uiApp();
    mts::test::TempDir dir;
    const fs::path src = dir / "project";
    fs::create_directories(src);
    {
        std::ofstream readme(src / "README.md");
        for (int i = 0; i < 200; ++i) readme << "Readme line " << i << " of a small project.\n";
        std::ofstream(src / ".env") << "API_TOKEN=abc123\n";
    }
    AppSettings settings(mts::test::qpath(dir / "settings.ini"), mts::test::qpath(dir / "data"));
    DatasetPage page(settings);
    auto* box = page.findChild<QCheckBox*>(QStringLiteral("includeSecrets"));
    ASSERT_NE(box, nullptr);
    EXPECT_FALSE(box->isChecked());
    EXPECT_EQ(buildAndListReasons(page, src), QStringList{QStringLiteral("secret")});
    box->setChecked(true);
    EXPECT_TRUE(buildAndListReasons(page, src).isEmpty());
}

TEST(DatasetSafety, CrashingPdfCostsOnlyThatFile) {
    mts::test::uiApp();
    mts::test::PdfHelperTestMarkers markers;
    mts::test::TempDir dir;
    const fs::path src = dir / "pdfs";
    fs::create_directories(src);
    std::ofstream(src / "crash.pdf", std::ios::binary) << mts::test::minimalPdf("boom", "%mts-test:crash\n");
    std::ofstream(src / "fine.pdf", std::ios::binary) << mts::test::minimalPdf("A fine page of text to learn from");
    AppSettings settings(mts::test::qpath(dir / "settings.ini"), mts::test::qpath(dir / "data"));
    DatasetPage page(settings);
    EXPECT_EQ(buildAndListReasons(page, src), QStringList{QStringLiteral("pdf-crashed")});
}

#endif  // MTS_HAVE_INGEST
