#include "mts/ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTimer>

#include "mts/core/runtime/runtime.h"
#include "mts/ui/app_settings.h"
#include "mts/ui/dataset_page.h"
#include "mts/ui/generate_page.h"
#include "mts/ui/generation_job.h"
#include "mts/ui/ingest_job.h"
#include "mts/ui/runs_page.h"
#include "mts/ui/theme.h"
#include "mts/ui/train_page.h"
#include "mts/ui/training_controller.h"

// The resources live in the static mts_ui library; without an explicit reference the linker
// would drop their registration.
static void initStudioResources() { Q_INIT_RESOURCE(resources); }

namespace mts::ui {

namespace {

struct PageEntry {
    const char* name;
    const char* icon;
    const char* tip;
};

const PageEntry kPages[] = {
    {"Dataset", ":/icons/dataset.svg", "Drop folders or files to build a training corpus (Ctrl+1)"},
    {"Train", ":/icons/train.svg", "Pick a preset, train, and watch the curves live (Ctrl+2)"},
    {"Generate", ":/icons/generate.svg", "Chat with a trained checkpoint or an imported model (Ctrl+3)"},
    {"Runs", ":/icons/runs.svg", "Compare runs: overlay curves, diff configs, export (Ctrl+4)"},
};

}  // namespace

MainWindow::MainWindow(const StudioOptions& options, QWidget* parent)
    : QMainWindow(parent), m_settings(std::make_unique<AppSettings>(options.settingsFile, options.dataDir)) {
    initStudioResources();
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(QStringLiteral("Mamba Studio"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/mamba-studio.svg")));

    auto* central = new QWidget(this);
    auto* layout = new QHBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    m_nav = new QListWidget(central);
    m_nav->setObjectName(QStringLiteral("navigation"));
    m_stack = new QStackedWidget(central);
    m_stack->setObjectName(QStringLiteral("pages"));
    layout->addWidget(m_nav);
    layout->addWidget(m_stack, 1);
    setCentralWidget(central);

    m_datasetPage = new DatasetPage(*m_settings, m_stack);
    m_trainPage = new TrainPage(*m_settings, m_stack);
    m_generatePage = new GeneratePage(*m_settings, m_stack);
    m_runsPage = new RunsPage(*m_settings, m_stack);
    m_stack->addWidget(m_datasetPage);
    m_stack->addWidget(m_trainPage);
    m_stack->addWidget(m_generatePage);
    m_stack->addWidget(m_runsPage);

    buildNavigation();
    buildActions();
    buildStatusBar();
    restoreSettings();

    // Pages never reach into each other; the window forwards the few events they share.
    connect(m_datasetPage, &DatasetPage::datasetAdded, m_trainPage, [this](const QString& dir) {
        m_trainPage->refreshDatasets();
        m_trainPage->setDataset(dir);
    });
    connect(m_trainPage->controller(), &TrainingController::finished, this, [this] {
        m_runsPage->refresh();
        m_generatePage->refreshModels();
    });
    if (options.sampleDataset) m_datasetPage->ensureSampleDataset();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildNavigation() {
    m_nav->setIconSize(QSize(28, 28));
    m_nav->setViewMode(QListView::ListMode);
    m_nav->setFixedWidth(140);
    m_nav->setFrameShape(QFrame::NoFrame);
    m_nav->setSpacing(2);
    for (const PageEntry& entry : kPages) {
        auto* item = new QListWidgetItem(QIcon(QString::fromLatin1(entry.icon)), QString::fromLatin1(entry.name), m_nav);
        item->setToolTip(QString::fromLatin1(entry.tip));
        item->setSizeHint(QSize(120, 44));
    }
    connect(m_nav, &QListWidget::currentRowChanged, m_stack, &QStackedWidget::setCurrentIndex);
    m_nav->setCurrentRow(0);
}

void MainWindow::buildActions() {
    QMenu* fileMenu = menuBar()->addMenu(QStringLiteral("&File"));
    QMenu* viewMenu = menuBar()->addMenu(QStringLiteral("&View"));
    for (int i = 0; i < 4; ++i) {
        auto* action = new QAction(QIcon(QString::fromLatin1(kPages[i].icon)), QString::fromLatin1(kPages[i].name), this);
        action->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
        action->setToolTip(QString::fromLatin1(kPages[i].tip));
        connect(action, &QAction::triggered, this, [this, i] { showPage(static_cast<Page>(i)); });
        viewMenu->addAction(action);
    }
    auto* quit = fileMenu->addAction(QStringLiteral("&Quit"));
    quit->setShortcut(QKeySequence::Quit);
    quit->setMenuRole(QAction::QuitRole);
    connect(quit, &QAction::triggered, this, &QWidget::close);
}

void MainWindow::buildStatusBar() {
    const RuntimeInfo& info = runtimeInfo();
    m_deviceLabel = new QLabel(QString::fromStdString(info.device), this);
    m_deviceLabel->setObjectName(QStringLiteral("deviceLabel"));
    m_deviceLabel->setToolTip(QStringLiteral("Device the engine trains and generates on"));
    m_threadsLabel = new QLabel(QStringLiteral("%1 threads").arg(info.intraOpThreads), this);
    m_threadsLabel->setObjectName(QStringLiteral("threadsLabel"));
    m_threadsLabel->setToolTip(QStringLiteral("Intra-op threads LibTorch uses (one per core)"));
    QString blas = QStringLiteral("BLAS: %1").arg(QString::fromStdString(info.blas));
    m_blasLabel = new QLabel(blas, this);
    m_blasLabel->setObjectName(QStringLiteral("blasLabel"));
    if (info.slowBlas) {
        m_blasLabel->setText(blas + QStringLiteral(" (slow)"));
        m_blasLabel->setStyleSheet(QStringLiteral("color: #d1491f"));
        m_blasLabel->setToolTip(QStringLiteral("The reference BLAS is ~10x slower. Fix: sudo apt-get install libopenblas0-openmp"));
    } else {
        m_blasLabel->setToolTip(QStringLiteral("Matrix library used on the CPU"));
    }
    auto* scanLabel = new QLabel(QStringLiteral("scan: %1").arg(QString::fromStdString(info.scanBackend)), this);
    scanLabel->setObjectName(QStringLiteral("scanLabel"));
    scanLabel->setToolTip(QStringLiteral("What runs Mamba's selective scan: our fused CPU kernel (with the "
                                         "instruction set), or the chunked scan in tensor ops on other devices"));
    m_memoryLabel = new QLabel(this);
    m_memoryLabel->setObjectName(QStringLiteral("memoryLabel"));
    m_memoryLabel->setToolTip(QStringLiteral("Memory this process uses now (resident set) and its peak"));
    statusBar()->addPermanentWidget(m_deviceLabel);
    statusBar()->addPermanentWidget(m_threadsLabel);
    statusBar()->addPermanentWidget(m_blasLabel);
    statusBar()->addPermanentWidget(scanLabel);
    statusBar()->addPermanentWidget(m_memoryLabel);
    m_memoryTimer = new QTimer(this);
    m_memoryTimer->setInterval(2000);
    connect(m_memoryTimer, &QTimer::timeout, this, &MainWindow::refreshMemory);
    m_memoryTimer->start();
    refreshMemory();
}

void MainWindow::refreshMemory() {
    m_memoryLabel->setText(QStringLiteral("RAM %1 (peak %2)")
                               .arg(formatBytes(double(currentRssBytes())), formatBytes(double(peakRssBytes()))));
}

void MainWindow::showPage(Page page) { m_nav->setCurrentRow(static_cast<int>(page)); }

Page MainWindow::currentPage() const { return static_cast<Page>(m_stack->currentIndex()); }

void MainWindow::restoreSettings() {
    const QByteArray geometry = m_settings->value(QStringLiteral("window/geometry")).toByteArray();
    if (geometry.isEmpty() || !restoreGeometry(geometry)) resize(1280, 820);
    restoreState(m_settings->value(QStringLiteral("window/state")).toByteArray());
    showPage(static_cast<Page>(qBound(0, m_settings->value(QStringLiteral("window/page"), 0).toInt(), 3)));
}

void MainWindow::saveSettings() {
    m_settings->setValue(QStringLiteral("window/geometry"), saveGeometry());
    m_settings->setValue(QStringLiteral("window/state"), saveState());
    m_settings->setValue(QStringLiteral("window/page"), static_cast<int>(currentPage()));
    m_settings->raw().sync();
}

bool MainWindow::engineBusy() const {
    return m_trainPage->isTraining() || m_datasetPage->job()->running() || m_generatePage->job()->busy();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (m_closing) {  // already winding down: the poll below closes once the workers are done
        if (engineBusy()) {
            event->ignore();
            return;
        }
        event->accept();
        return;
    }
    if (m_trainPage->isTraining()) {
        bool stop = false;
        if (m_askClose) {
            stop = m_askClose();
        } else {
            stop = QMessageBox::question(this, QStringLiteral("Training is running"),
                                         QStringLiteral("A training run is active. Stop it, save a checkpoint and quit?"),
                                         QMessageBox::Yes | QMessageBox::No, QMessageBox::No) == QMessageBox::Yes;
        }
        if (!stop) {
            event->ignore();
            return;
        }
    }
    saveSettings();
    if (!engineBusy()) {
        event->accept();
        return;
    }
    // Work is still running on the workers (a training run saving its checkpoint, a model or
    // checkpoint being read, a PDF being extracted). The GUI thread never blocks on it: ask
    // every job to stop, hide the window at once and close for real when they have ended
    // (the event loop keeps running meanwhile, so queued signals are delivered).
    m_trainPage->controller()->stop();
    m_datasetPage->cancel();
    m_generatePage->job()->stop();
    m_closing = true;
    hide();
    event->ignore();
    if (!m_closeWait) {
        m_closeWait = new QTimer(this);
        m_closeWait->setInterval(50);
        connect(m_closeWait, &QTimer::timeout, this, [this] {
            if (engineBusy()) return;
            m_closeWait->stop();
            close();
        });
    }
    m_closeWait->start();
}

}  // namespace mts::ui
