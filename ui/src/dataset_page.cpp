#include "mts/ui/dataset_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDesktopServices>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QStyle>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QUrl>
#include <QVBoxLayout>

#include "mts/ui/app_settings.h"
#include "mts/ui/ingest_job.h"
#include "mts/ui/theme.h"

namespace mts::ui {

namespace {

const char kSampleName[] = "sample-docs";

QTableWidgetItem* numberItem(double v, const QString& text) {
    auto* item = new QTableWidgetItem(text);
    item->setData(Qt::UserRole, v);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

}  // namespace

DropZone::DropZone(QWidget* parent) : QFrame(parent) {
    setObjectName(QStringLiteral("dropZone"));
    setAcceptDrops(true);
    setToolTip(QStringLiteral("Drop folders, git repositories or files from the file manager"));
}

void DropZone::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls()) {
        setProperty("hover", true);
        style()->polish(this);
        event->acceptProposedAction();
    }
}

void DropZone::dragLeaveEvent(QDragLeaveEvent* event) {
    setProperty("hover", false);
    style()->polish(this);
    QFrame::dragLeaveEvent(event);
}

void DropZone::dropEvent(QDropEvent* event) {
    setProperty("hover", false);
    style()->polish(this);
    QStringList paths;
    for (const QUrl& url : event->mimeData()->urls()) {
        if (url.isLocalFile()) paths << url.toLocalFile();
    }
    if (paths.isEmpty()) return;
    event->acceptProposedAction();
    Q_EMIT dropped(paths);
}

DatasetPage::DatasetPage(AppSettings& settings, QWidget* parent)
    : QWidget(parent), m_settings(settings), m_job(new IngestJob(this)) {
    setObjectName(QStringLiteral("datasetPage"));
    auto* root = new QVBoxLayout(this);
    auto* title = new QLabel(QStringLiteral("Dataset"), this);
    title->setProperty("role", QStringLiteral("title"));
    root->addWidget(title);
    root->addWidget(buildDropZone());
    root->addLayout(buildProgressRow());
    root->addWidget(m_progressText);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("ingestStatus"));
    m_status->setWordWrap(true);
    root->addWidget(m_status);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(buildDatasetList(splitter));
    splitter->addWidget(buildDetails(splitter));
    splitter->setStretchFactor(1, 3);
    root->addWidget(splitter, 1);

    for (const QString& dir : m_settings.datasets()) {
        auto* item = new QListWidgetItem(QFileInfo(dir).fileName(), m_list);
        item->setData(Qt::UserRole, dir);
        item->setToolTip(dir);
    }
    connectControls();
    connectJob();
    setBusy(false);
    if (m_list->count() > 0) m_list->setCurrentRow(qMax(0, m_settings.datasets().indexOf(m_settings.lastDataset())));
}

// The drop target with the add buttons and the tokenizer / secrets choices.
DropZone* DatasetPage::buildDropZone() {
    m_dropZone = new DropZone(this);
    auto* dropLayout = new QVBoxLayout(m_dropZone);
    auto* dropLabel = new QLabel(QStringLiteral("Drop folders, git repositories or files here\n"
                                                "text, Markdown, code, configs, HTML and PDF are read; binaries are skipped"),
                                 m_dropZone);
    dropLabel->setAlignment(Qt::AlignCenter);
    auto* dropButtons = new QHBoxLayout;
    m_addFolder = new QPushButton(QIcon(QStringLiteral(":/icons/dataset.svg")), QStringLiteral("Add folder…"), m_dropZone);
    m_addFolder->setObjectName(QStringLiteral("addFolderButton"));
    m_addFolder->setToolTip(QStringLiteral("Pick a folder or git repository to build a dataset from (Ctrl+O)"));
    m_addFiles = new QPushButton(QStringLiteral("Add files…"), m_dropZone);
    m_addFiles->setToolTip(QStringLiteral("Pick individual files"));
    m_tokenizer = new QComboBox(m_dropZone);
    m_tokenizer->setObjectName(QStringLiteral("tokenizerPicker"));
    m_tokenizer->addItem(QStringLiteral("Byte-level tokenizer (256 symbols)"), QStringLiteral("byte"));
    m_tokenizer->addItem(QStringLiteral("BPE trained on these files"), QStringLiteral("bpe"));
    m_tokenizer->addItem(QStringLiteral("tokenizer.json file…"), QStringLiteral("file"));
    m_tokenizer->setToolTip(QStringLiteral("Byte-level works for any language and needs no training; a tokenizer.json "
                                           "(e.g. GPT-NeoX BPE) gives shorter sequences"));
    dropButtons->addStretch(1);
    dropButtons->addWidget(m_addFolder);
    dropButtons->addWidget(m_addFiles);
    dropButtons->addWidget(new QLabel(QStringLiteral("Tokenizer:"), m_dropZone));
    dropButtons->addWidget(m_tokenizer);
    m_bpeVocab = new QSpinBox(m_dropZone);
    m_bpeVocab->setObjectName(QStringLiteral("bpeVocab"));
    m_bpeVocab->setRange(300, 65536);
    m_bpeVocab->setSingleStep(256);
    m_bpeVocab->setValue(m_settings.value(QStringLiteral("dataset/bpeVocab"), 4096).toInt());
    m_bpeVocab->setPrefix(QStringLiteral("vocabulary "));
    m_bpeVocab->setToolTip(QStringLiteral("Ids in the BPE vocabulary (256 bytes + end-of-document + merges); "
                                          "larger means shorter sequences but a bigger embedding"));
    m_bpeVocab->setVisible(false);
    dropButtons->addWidget(m_bpeVocab);
    m_includeSecrets = new QCheckBox(QStringLiteral("Include secrets"), m_dropZone);
    m_includeSecrets->setObjectName(QStringLiteral("includeSecrets"));
    m_includeSecrets->setToolTip(QStringLiteral("Also read private keys, .env files and credential stores (.netrc, "
                                                ".pgpass, .git-credentials, .aws/credentials, keychains). Off: they "
                                                "are skipped and listed under Skipped as \"secret\"."));
    dropButtons->addWidget(m_includeSecrets);
    dropButtons->addStretch(1);
    dropLayout->addWidget(dropLabel);
    dropLayout->addLayout(dropButtons);
    return m_dropZone;
}

QLayout* DatasetPage::buildProgressRow() {
    auto* progressRow = new QHBoxLayout;
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("ingestProgress"));
    m_progress->setRange(0, 1000);
    m_progressText = new QLabel(this);
    m_progressText->setObjectName(QStringLiteral("ingestProgressText"));
    m_cancel = new QPushButton(QStringLiteral("Cancel"), this);
    m_cancel->setObjectName(QStringLiteral("cancelIngestButton"));
    m_cancel->setToolTip(QStringLiteral("Stop reading; nothing half-built is kept"));
    progressRow->addWidget(m_progress, 1);
    progressRow->addWidget(m_cancel);
    return progressRow;
}

QWidget* DatasetPage::buildDatasetList(QWidget* parent) {
    auto* listBox = new QWidget(parent);
    auto* listLayout = new QVBoxLayout(listBox);
    listLayout->setContentsMargins(0, 0, 0, 0);
    listLayout->addWidget(new QLabel(QStringLiteral("Datasets"), listBox));
    m_list = new QListWidget(listBox);
    m_list->setObjectName(QStringLiteral("datasetList"));
    m_list->setToolTip(QStringLiteral("Built datasets (kept across launches); select one to see its report"));
    m_removeButton = new QPushButton(QStringLiteral("Remove from list"), listBox);
    m_removeButton->setToolTip(QStringLiteral("Forget the selected dataset (its folder stays on disk)"));
    listLayout->addWidget(m_list, 1);
    listLayout->addWidget(m_removeButton);
    return listBox;
}

// The selected dataset's summary, its counts by kind, the skipped files and sample documents.
QWidget* DatasetPage::buildDetails(QWidget* parent) {
    auto* details = new QWidget(parent);
    auto* detailsLayout = new QVBoxLayout(details);
    detailsLayout->setContentsMargins(0, 0, 0, 0);
    m_summary = new QLabel(details);
    m_summary->setObjectName(QStringLiteral("datasetSummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* tabs = new QTabWidget(details);
    m_kinds = new QTableWidget(0, 6, tabs);
    m_kinds->setObjectName(QStringLiteral("kindTable"));
    m_kinds->setHorizontalHeaderLabels({QStringLiteral("Kind"), QStringLiteral("Files"), QStringLiteral("Documents"),
                                        QStringLiteral("Text bytes"), QStringLiteral("Tokens"),
                                        QStringLiteral("Validation tokens")});
    m_kinds->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_kinds->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_kinds->verticalHeader()->hide();
    auto* skippedBox = new QWidget(tabs);
    auto* skippedLayout = new QVBoxLayout(skippedBox);
    m_skipFilter = new QLineEdit(skippedBox);
    m_skipFilter->setObjectName(QStringLiteral("skipFilter"));
    m_skipFilter->setPlaceholderText(QStringLiteral("Filter by path or reason"));
    m_skipFilter->setClearButtonEnabled(true);
    m_skipped = new QTableWidget(0, 3, skippedBox);
    m_skipped->setObjectName(QStringLiteral("skippedTable"));
    m_skipped->setHorizontalHeaderLabels({QStringLiteral("File"), QStringLiteral("Reason"), QStringLiteral("Detail")});
    m_skipped->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_skipped->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_skipped->setToolTip(QStringLiteral("Files that were not used and why; double-click opens one"));
    m_skipped->verticalHeader()->hide();
    skippedLayout->addWidget(m_skipFilter);
    skippedLayout->addWidget(m_skipped);
    m_samples = new QPlainTextEdit(tabs);
    m_samples->setObjectName(QStringLiteral("sampleDocs"));
    m_samples->setReadOnly(true);
    tabs->addTab(m_kinds, QStringLiteral("By kind"));
    tabs->addTab(skippedBox, QStringLiteral("Skipped"));
    tabs->addTab(m_samples, QStringLiteral("Sample documents"));
    detailsLayout->addWidget(m_summary);
    detailsLayout->addWidget(tabs, 1);
    return details;
}

void DatasetPage::connectControls() {
    connect(m_dropZone, &DropZone::dropped, this, [this](const QStringList& paths) { addSources(paths); });
    connect(m_addFolder, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, QStringLiteral("Add a folder or git repository"));
        if (!dir.isEmpty()) addSources({dir});
    });
    connect(m_addFiles, &QPushButton::clicked, this, [this] {
        const QStringList files = QFileDialog::getOpenFileNames(this, QStringLiteral("Add files"));
        if (!files.isEmpty()) addSources(files);
    });
    auto* open = new QShortcut(QKeySequence::Open, this);
    connect(open, &QShortcut::activated, m_addFolder, &QPushButton::click);
    connect(m_tokenizer, &QComboBox::currentIndexChanged, this, &DatasetPage::onTokenizerPicked);
    connect(m_cancel, &QPushButton::clicked, this, &DatasetPage::cancel);
    connect(m_list, &QListWidget::currentItemChanged, this, [this](QListWidgetItem* item) {
        if (item) showDataset(item->data(Qt::UserRole).toString());
    });
    connect(m_removeButton, &QPushButton::clicked, this, &DatasetPage::removeSelected);
    connect(m_skipFilter, &QLineEdit::textChanged, this, &DatasetPage::applySkipFilter);
    connect(m_skipped, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
        QDesktopServices::openUrl(QUrl::fromLocalFile(m_skipped->item(row, 0)->text()));
    });
}

void DatasetPage::connectJob() {
    connect(m_job, &IngestJob::progress, this, &DatasetPage::onProgress);
    connect(m_job, &IngestJob::finished, this, &DatasetPage::onFinished);
    connect(m_job, &IngestJob::cancelled, this, [this] {
        m_status->setText(QStringLiteral("Cancelled; nothing was kept."));
        setBusy(false);
    });
    connect(m_job, &IngestJob::failed, this, [this](const QString& message) {
        m_status->setText(QStringLiteral("<span style='color:#d62d2d'>%1</span>").arg(message.toHtmlEscaped()));
        setBusy(false);
        Q_EMIT ingestFailed(message);
    });
}

// The tokenizer picker: BPE shows its vocabulary size; "file…" asks for the tokenizer.json.
void DatasetPage::onTokenizerPicked() {
    m_bpeVocab->setVisible(m_tokenizer->currentData().toString() == QLatin1String("bpe"));
    if (m_tokenizer->currentData().toString() != QLatin1String("file")) return;
    const QString file = QFileDialog::getOpenFileName(this, QStringLiteral("Tokenizer"), {}, QStringLiteral("tokenizer.json (*.json)"));
    if (file.isEmpty()) {
        m_tokenizer->setCurrentIndex(0);
        return;
    }
    m_pendingTokenizerFile = file;
    m_tokenizer->setItemText(m_tokenizer->findData(QStringLiteral("file")),
                             QStringLiteral("Tokenizer: %1").arg(QFileInfo(file).fileName()));
}

DatasetPage::~DatasetPage() = default;

QStringList DatasetPage::datasets() const { return m_settings.datasets(); }

QString DatasetPage::newCorpusDir(const QString& firstSource) const {
    QString base = QFileInfo(firstSource).completeBaseName();
    if (base.isEmpty()) base = QFileInfo(firstSource).fileName();
    if (base.isEmpty()) base = QStringLiteral("dataset");
    base.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9._-]+")), QStringLiteral("-"));
    const QString root = m_settings.datasetsFolder();
    QString dir = root + QLatin1Char('/') + base;
    for (int n = 2; QFileInfo::exists(dir); ++n) dir = QStringLiteral("%1/%2-%3").arg(root, base).arg(n);
    return dir;
}

bool DatasetPage::addSources(const QStringList& paths) {
    if (m_job->running() || paths.isEmpty()) return false;
    QDir().mkpath(m_settings.datasetsFolder());
    IngestRequest request;
    request.sources = paths;
    request.outputDir = newCorpusDir(paths.front());
    request.includeSecrets = m_includeSecrets->isChecked();
    const QString tokenizer = m_tokenizer->currentData().toString();
    if (tokenizer == QLatin1String("file") && !m_pendingTokenizerFile.isEmpty()) {
        request.tokenizer = m_pendingTokenizerFile;
    } else if (tokenizer == QLatin1String("bpe")) {
        request.tokenizer = QStringLiteral("bpe");
        request.bpeVocab = m_bpeVocab->value();
        m_settings.setValue(QStringLiteral("dataset/bpeVocab"), request.bpeVocab);
    }
    m_status->setText(QStringLiteral("Reading %1 …").arg(paths.join(QStringLiteral(", "))));
    m_progress->setValue(0);
    if (!m_job->start(request)) return false;
    setBusy(true);
    return true;
}

void DatasetPage::ensureSampleDataset() {
    if (m_settings.value(QStringLiteral("datasets/sampleBuilt")).toBool() || m_job->running()) return;
    // The bundled docs live in the resources; ingest reads files, so copy them out first.
    const QString docs = m_settings.dataDir() + QStringLiteral("/sample-docs");
    QDir().mkpath(docs);
    const QDir bundled(QStringLiteral(":/docs"));
    for (const QString& name : bundled.entryList(QDir::Files)) {
        const QString target = docs + QLatin1Char('/') + name;
        QFile::remove(target);
        QFile::copy(bundled.filePath(name), target);
        QFile::setPermissions(target, QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther);
    }
    m_settings.setValue(QStringLiteral("datasets/sampleBuilt"), true);
    addSources({docs});
}

void DatasetPage::cancel() {
    if (m_job->running()) {
        m_status->setText(QStringLiteral("Cancelling…"));
        m_job->cancel();
    }
}

void DatasetPage::onProgress(const IngestProgressInfo& p) {
    if (p.phase == QLatin1String("training BPE")) {
        if (p.mergesTotal > 0) m_progress->setValue(int(1000.0 * double(p.merges) / double(p.mergesTotal)));
        m_progressText->setText(QStringLiteral("%1: %2 / %3 merges").arg(p.phase).arg(p.merges).arg(p.mergesTotal));
        return;
    }
    if (p.phase == QLatin1String("writing")) {
        if (p.documentsTotal > 0) m_progress->setValue(int(1000.0 * double(p.documents) / double(p.documentsTotal)));
        m_progressText->setText(QStringLiteral("%1: %2 / %3 documents").arg(p.phase).arg(p.documents).arg(p.documentsTotal));
        return;
    }
    if (p.bytesTotal > 0) m_progress->setValue(int(1000.0 * double(p.bytesDone) / double(p.bytesTotal)));
    m_progressText->setText(QStringLiteral("%1: ").arg(p.phase) + QStringLiteral("%1 / %2 files · %3 / %4 · %5/s · %6 documents · %7")
                                .arg(p.filesDone)
                                .arg(p.filesTotal)
                                .arg(formatBytes(double(p.bytesDone)), formatBytes(double(p.bytesTotal)),
                                     formatBytes(p.bytesPerSecond))
                                .arg(p.documents)
                                .arg(p.currentFile));
}

void DatasetPage::onFinished(const IngestReport& report) {
    setBusy(false);
    m_progress->setValue(1000);
    QStringList list = m_settings.datasets();
    list.removeAll(report.corpusDir);
    list.append(report.corpusDir);
    m_settings.setDatasets(list);
    m_settings.setLastDataset(report.corpusDir);
    auto* item = new QListWidgetItem(QFileInfo(report.corpusDir).fileName(), m_list);
    item->setData(Qt::UserRole, report.corpusDir);
    item->setToolTip(report.corpusDir);
    m_list->blockSignals(true);
    m_list->setCurrentItem(item);
    m_list->blockSignals(false);
    showReport(report);
    m_status->setText(QStringLiteral("Built %1 in %2 s.").arg(report.corpusDir).arg(report.seconds, 0, 'f', 1));
    Q_EMIT datasetAdded(report.corpusDir);
}

void DatasetPage::showDataset(const QString& corpusDir) {
    try {
        showReport(IngestJob::readCorpus(corpusDir));
    } catch (const std::exception& e) {
        m_summary->setText(QStringLiteral("<span style='color:#d62d2d'>%1</span>").arg(QString::fromUtf8(e.what()).toHtmlEscaped()));
        m_kinds->setRowCount(0);
        m_skipped->setRowCount(0);
    }
}

void DatasetPage::showReport(const IngestReport& r) {
    m_summary->setText(QStringLiteral("<b>%1</b><br>%2 files · %3 documents · %4 of text · %5 train + %6 validation tokens"
                                      " · %7 tokenizer, %8 ids%9")
                           .arg(r.corpusDir.toHtmlEscaped())
                           .arg(r.files)
                           .arg(r.documents)
                           .arg(formatBytes(double(r.textBytes)))
                           .arg(r.trainTokens)
                           .arg(r.valTokens)
                           .arg(r.tokenizer.toHtmlEscaped())
                           .arg(r.vocabSize)
                           .arg(r.warnings.isEmpty() ? QString() : QStringLiteral("<br>") + r.warnings.join(QStringLiteral("<br>")).toHtmlEscaped()));
    m_kinds->setSortingEnabled(false);
    m_kinds->setRowCount(r.kinds.size());
    for (int i = 0; i < r.kinds.size(); ++i) {
        const IngestKindRow& k = r.kinds[i];
        m_kinds->setItem(i, 0, new QTableWidgetItem(k.kind));
        m_kinds->setItem(i, 1, numberItem(double(k.files), QString::number(k.files)));
        m_kinds->setItem(i, 2, numberItem(double(k.documents), QString::number(k.documents)));
        m_kinds->setItem(i, 3, numberItem(double(k.bytes), formatBytes(double(k.bytes))));
        m_kinds->setItem(i, 4, numberItem(double(k.tokens), QString::number(k.tokens)));
        m_kinds->setItem(i, 5, numberItem(double(k.valTokens), QString::number(k.valTokens)));
    }
    m_skipped->setRowCount(r.skipped.size());
    for (int i = 0; i < r.skipped.size(); ++i) {
        m_skipped->setItem(i, 0, new QTableWidgetItem(r.skipped[i].path));
        m_skipped->setItem(i, 1, new QTableWidgetItem(r.skipped[i].reason));
        m_skipped->setItem(i, 2, new QTableWidgetItem(r.skipped[i].detail));
    }
    applySkipFilter();
    QString samples;
    for (const auto& [source, text] : r.samples) samples += QStringLiteral("── %1 ──\n%2\n\n").arg(source, text);
    m_samples->setPlainText(samples.isEmpty() ? QStringLiteral("(sample documents are shown right after a build)") : samples);
}

void DatasetPage::applySkipFilter() {
    const QString f = m_skipFilter->text().trimmed();
    for (int i = 0; i < m_skipped->rowCount(); ++i) {
        const bool match = f.isEmpty() || m_skipped->item(i, 0)->text().contains(f, Qt::CaseInsensitive) ||
                           m_skipped->item(i, 1)->text().contains(f, Qt::CaseInsensitive);
        m_skipped->setRowHidden(i, !match);
    }
}

void DatasetPage::removeSelected() {
    QListWidgetItem* item = m_list->currentItem();
    if (!item) return;
    QStringList list = m_settings.datasets();
    list.removeAll(item->data(Qt::UserRole).toString());
    m_settings.setDatasets(list);
    delete item;
}

void DatasetPage::setBusy(bool busy) {
    m_progress->setVisible(busy);
    m_cancel->setVisible(busy);
    m_progressText->setVisible(busy);
    m_addFolder->setEnabled(!busy);
    m_addFiles->setEnabled(!busy);
    m_tokenizer->setEnabled(!busy);
    m_bpeVocab->setEnabled(!busy);
    m_dropZone->setAcceptDrops(!busy);
}

}  // namespace mts::ui
