#include "mts/ui/runs_page.h"

#include <QComboBox>
#include <QDir>
#include <QEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QFontDatabase>
#include <QLabel>
#include <QMetaObject>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QSvgGenerator>
#include <QTableWidget>
#include <QTabWidget>
#include <QTextStream>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include "mts/ui/app_settings.h"
#include "mts/ui/theme.h"
#include "mts/ui/train_presets.h"

namespace mts::ui {

namespace {

enum Column { kName, kStatus, kArch, kParams, kTokens, kSteps, kBestVal, kWall, kColumns };

QTableWidgetItem* cell(const QString& text, double sortValue) {
    auto* item = new QTableWidgetItem(text);
    item->setData(Qt::UserRole, sortValue);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

QString compact(double v) {
    if (v >= 1e9) return QString::number(v / 1e9, 'f', 2) + QStringLiteral(" G");
    if (v >= 1e6) return QString::number(v / 1e6, 'f', 2) + QStringLiteral(" M");
    if (v >= 1e3) return QString::number(v / 1e3, 'f', 1) + QStringLiteral(" k");
    return QString::number(v, 'f', 0);
}

QString wallTime(double s) {
    if (s <= 0) return QStringLiteral("—");
    if (s < 120) return QStringLiteral("%1 s").arg(s, 0, 'f', 0);
    if (s < 7200) return QStringLiteral("%1 min").arg(s / 60, 0, 'f', 1);
    return QStringLiteral("%1 h").arg(s / 3600, 0, 'f', 1);
}

}  // namespace

RunsPage::RunsPage(AppSettings& settings, QWidget* parent) : QWidget(parent), m_settings(settings) {
    setObjectName(QStringLiteral("runsPage"));
    auto* root = new QVBoxLayout(this);
    root->addLayout(buildHeader());

    auto* splitter = new QSplitter(Qt::Vertical, this);
    QWidget* table = buildTable(splitter);
    auto* lower = new QTabWidget(splitter);
    lower->addTab(buildCurvesTab(lower), QStringLiteral("Curves"));
    lower->addTab(buildDiffTab(lower), QStringLiteral("Config diff"));
    lower->addTab(buildConfigTab(lower), QStringLiteral("Config"));
    splitter->addWidget(table);
    splitter->addWidget(lower);
    splitter->setStretchFactor(1, 2);
    root->addWidget(splitter, 1);

    connect(m_table, &QTableWidget::itemSelectionChanged, this, &RunsPage::onSelectionChanged);
    connect(m_table, &QTableWidget::currentCellChanged, this, &RunsPage::updateConfigView);
    connect(m_metric, &QComboBox::currentIndexChanged, this, &RunsPage::redrawOverlay);
    connect(m_xAxis, &QComboBox::currentIndexChanged, this, &RunsPage::redrawOverlay);
    changeEvent(nullptr);
}

// Title, the runs folder, and the buttons to change and re-read it.
QLayout* RunsPage::buildHeader() {
    auto* top = new QHBoxLayout;
    auto* title = new QLabel(QStringLiteral("Runs"), this);
    title->setProperty("role", QStringLiteral("title"));
    m_folderLabel = new QLabel(this);
    m_folderLabel->setObjectName(QStringLiteral("runsFolderLabel"));
    auto* change = new QPushButton(QStringLiteral("Runs folder…"), this);
    change->setToolTip(QStringLiteral("Choose the folder runs are written to and listed from"));
    auto* refreshButton = new QPushButton(QStringLiteral("Refresh"), this);
    refreshButton->setToolTip(QStringLiteral("Re-read the runs folder (F5)"));
    refreshButton->setShortcut(QKeySequence::Refresh);
    top->addWidget(title);
    top->addSpacing(12);
    top->addWidget(m_folderLabel, 1);
    top->addWidget(change);
    top->addWidget(refreshButton);
    connect(refreshButton, &QPushButton::clicked, this, &RunsPage::refresh);
    connect(change, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, QStringLiteral("Runs folder"), m_settings.runsFolder());
        if (dir.isEmpty()) return;
        m_settings.setRunsFolder(dir);
        refresh();
    });
    return top;
}

QWidget* RunsPage::buildTable(QWidget* parent) {
    m_table = new QTableWidget(0, kColumns, parent);
    m_table->setObjectName(QStringLiteral("runsTable"));
    m_table->setHorizontalHeaderLabels({QStringLiteral("Run"), QStringLiteral("Status"), QStringLiteral("Architecture"),
                                        QStringLiteral("Parameters"), QStringLiteral("Tokens"), QStringLiteral("Steps"),
                                        QStringLiteral("Best val loss"), QStringLiteral("Wall time")});
    m_table->horizontalHeader()->setSectionResizeMode(kName, QHeaderView::Stretch);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->verticalHeader()->hide();
    m_table->setToolTip(QStringLiteral("Select several runs (Ctrl/Shift+click) to overlay and compare them"));
    return m_table;
}

// The overlay plot of the selected runs with its metric and x-axis pickers and exports.
QWidget* RunsPage::buildCurvesTab(QWidget* parent) {
    auto* plotBox = new QWidget(parent);
    auto* plotLayout = new QVBoxLayout(plotBox);
    auto* controls = new QHBoxLayout;
    m_metric = new QComboBox(plotBox);
    m_metric->setObjectName(QStringLiteral("overlayMetric"));
    m_metric->addItem(QStringLiteral("Training + validation loss"), 0);
    m_metric->addItem(QStringLiteral("Validation loss"), 1);
    m_metric->addItem(QStringLiteral("Training loss"), 2);
    m_metric->setToolTip(QStringLiteral("Which curves to overlay"));
    m_xAxis = new QComboBox(plotBox);
    m_xAxis->setObjectName(QStringLiteral("overlayXAxis"));
    m_xAxis->addItem(QStringLiteral("x: steps"), 0);
    m_xAxis->addItem(QStringLiteral("x: tokens"), 1);
    m_xAxis->addItem(QStringLiteral("x: training FLOPs (6·N·T)"), 2);
    m_xAxis->setToolTip(QStringLiteral("FLOPs compare architectures at equal compute: 6 × non-embedding parameters × tokens"));
    auto* exportPlotButton = new QPushButton(QStringLiteral("Export plot…"), plotBox);
    exportPlotButton->setToolTip(QStringLiteral("Save the plot as PNG, SVG or PDF"));
    auto* exportCsvButton = new QPushButton(QStringLiteral("Export CSV…"), plotBox);
    exportCsvButton->setToolTip(QStringLiteral("Save the selected runs' metrics as CSV"));
    controls->addWidget(m_metric);
    controls->addWidget(m_xAxis);
    controls->addStretch(1);
    controls->addWidget(exportPlotButton);
    controls->addWidget(exportCsvButton);
    m_plot = new QCustomPlot(plotBox);
    m_plot->setObjectName(QStringLiteral("overlayPlot"));
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->yAxis->setLabel(QStringLiteral("loss (nats/token)"));
    m_plot->legend->setVisible(true);
    m_plot->setMinimumHeight(220);
    connect(m_plot, &QCustomPlot::mouseDoubleClick, m_plot, [this](QMouseEvent*) {
        m_plot->rescaleAxes();
        m_plot->replot();
    });
    plotLayout->addLayout(controls);
    plotLayout->addWidget(m_plot, 1);
    connect(exportPlotButton, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getSaveFileName(this, QStringLiteral("Export plot"), QStringLiteral("runs.png"),
                                                          QStringLiteral("PNG (*.png);;SVG (*.svg);;PDF (*.pdf)"));
        if (!file.isEmpty()) exportPlot(file);
    });
    connect(exportCsvButton, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getSaveFileName(this, QStringLiteral("Export metrics"), QStringLiteral("metrics.csv"),
                                                          QStringLiteral("CSV (*.csv)"));
        if (!file.isEmpty()) exportCsv(file);
    });
    return plotBox;
}

QWidget* RunsPage::buildDiffTab(QWidget* parent) {
    m_diff = new QTableWidget(0, 1, parent);
    m_diff->setObjectName(QStringLiteral("configDiff"));
    m_diff->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_diff->verticalHeader()->hide();
    m_diff->setToolTip(QStringLiteral("Configuration keys whose values differ between the selected runs"));
    return m_diff;
}

// The configuration the current run really used (its config.json as the trainer wrote it).
QWidget* RunsPage::buildConfigTab(QWidget* parent) {
    auto* configBox = new QWidget(parent);
    auto* configLayout = new QVBoxLayout(configBox);
    m_configTitle = new QLabel(configBox);
    m_configTitle->setObjectName(QStringLiteral("runConfigTitle"));
    m_configTitle->setWordWrap(true);
    m_config = new QPlainTextEdit(configBox);
    m_config->setObjectName(QStringLiteral("runConfig"));
    m_config->setReadOnly(true);
    m_config->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_config->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_config->setToolTip(QStringLiteral("The run's config.json as the trainer wrote it: every setting the run really used, "
                                        "presets and defaults resolved"));
    configLayout->addWidget(m_configTitle);
    configLayout->addWidget(m_config, 1);
    return configBox;
}

RunsPage::~RunsPage() {
    m_stopLoading = true;
    m_loader.join();
}

void RunsPage::showEvent(QShowEvent* event) {
    refresh();
    QWidget::showEvent(event);
}

void RunsPage::changeEvent(QEvent* event) {
    if (!event || event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange) {
        stylePlot(m_plot, palette());
        if (event) redrawOverlay();
    }
    if (event) QWidget::changeEvent(event);
}

void RunsPage::refresh() {
    const QStringList folders = m_settings.runsFolders();
    m_folderLabel->setText(folders.size() > 1 ? QStringLiteral("%1 (and runs found in the old location %2)")
                                                    .arg(folders.front(), folders.mid(1).join(QStringLiteral(", ")))
                                              : folders.front());
    if (m_loading) {
        m_reloadWanted = true;
        return;
    }
    m_loading = true;
    m_reloadWanted = false;
    m_loader.start([this, folders] {
        QVector<RunSummary> runs;
        for (const QString& folder : folders) {
            try {
                runs += listRuns(folder, &m_stopLoading);
            } catch (const std::exception&) {
                // An unreadable folder lists as empty; the folder label says which one it was.
            }
        }
        QMetaObject::invokeMethod(this, [this, runs] { applyRuns(runs); }, Qt::QueuedConnection);
    });
}

void RunsPage::applyRuns(const QVector<RunSummary>& runs) {
    const QStringList selected = selectedDirs();
    m_runs = runs;
    m_table->blockSignals(true);
    m_table->setSortingEnabled(false);
    m_table->clearContents();
    m_table->setRowCount(m_runs.size());
    for (int i = 0; i < m_runs.size(); ++i) {
        RunSummary& r = m_runs[i];
        if (r.params < 0 || r.nonEmbeddingParams < 0) {
            const ModelSizeView size = modelSize(r.configJson);
            if (r.params < 0) r.params = size.params;
            if (r.nonEmbeddingParams < 0) r.nonEmbeddingParams = size.nonEmbeddingParams;
        }
        auto* name = new QTableWidgetItem(r.name);
        name->setData(Qt::UserRole, r.dir);
        name->setToolTip(r.dir);
        m_table->setItem(i, kName, name);
        m_table->setItem(i, kStatus, new QTableWidgetItem(r.status));
        m_table->setItem(i, kArch, new QTableWidgetItem(r.arch));
        m_table->setItem(i, kParams, cell(r.params >= 0 ? compact(double(r.params)) : QStringLiteral("—"), double(r.params)));
        m_table->setItem(i, kTokens, cell(compact(r.tokens), r.tokens));
        m_table->setItem(i, kSteps, cell(QString::number(r.steps, 'f', 0), r.steps));
        m_table->setItem(i, kBestVal, cell(r.bestValLoss >= 0 ? QString::number(r.bestValLoss, 'f', 4) : QStringLiteral("—"), r.bestValLoss));
        m_table->setItem(i, kWall, cell(wallTime(r.wallSeconds), r.wallSeconds));
        if (selected.contains(r.dir)) m_table->selectRow(i);
    }
    m_table->blockSignals(false);
    onSelectionChanged();
    m_loading = false;
    if (m_reloadWanted) {
        refresh();
        return;
    }
    Q_EMIT refreshed();
}

int RunsPage::runCount() const { return m_runs.size(); }

void RunsPage::selectRuns(const QStringList& names) {
    m_table->blockSignals(true);
    m_table->clearSelection();
    m_table->setSelectionMode(QAbstractItemView::MultiSelection);
    for (int i = 0; i < m_table->rowCount(); ++i) {
        if (names.contains(m_table->item(i, kName)->text())) m_table->selectRow(i);
    }
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->blockSignals(false);
    onSelectionChanged();
}

QStringList RunsPage::selectedDirs() const {
    QStringList dirs;
    for (int i = 0; i < m_table->rowCount(); ++i) {
        QTableWidgetItem* item = m_table->item(i, kName);
        if (item && item->isSelected()) dirs << item->data(Qt::UserRole).toString();
    }
    return dirs;
}

void RunsPage::onSelectionChanged() {
    redrawOverlay();
    updateDiff();
    updateConfigView();
}

QString RunsPage::configRunDir() const {
    const QStringList dirs = selectedDirs();
    if (dirs.isEmpty()) return {};
    const QTableWidgetItem* current = m_table->currentRow() >= 0 ? m_table->item(m_table->currentRow(), kName) : nullptr;
    if (current && current->isSelected()) return current->data(Qt::UserRole).toString();
    return dirs.front();
}

void RunsPage::updateConfigView() {
    const QString dir = configRunDir();
    for (const RunSummary& run : m_runs) {
        if (run.dir != dir) continue;
        m_configTitle->setText(QStringLiteral("<b>%1</b> — %2/config.json, the configuration this run used")
                                   .arg(run.name.toHtmlEscaped(), run.dir.toHtmlEscaped()));
        m_config->setPlainText(run.configJson.isEmpty() ? QStringLiteral("(no readable config.json)") : run.configJson);
        return;
    }
    m_configTitle->setText(QStringLiteral("Select a run to see the configuration it used."));
    m_config->clear();
}

void RunsPage::redrawOverlay() {
    m_plot->clearGraphs();
    const QStringList dirs = selectedDirs();
    const int axis = m_xAxis->currentData().toInt();
    const int metric = m_metric->currentData().toInt();
    int colour = 0;
    for (const RunSummary& run : m_runs) {
        if (!dirs.contains(run.dir)) continue;
        const RunMetrics m = readRunMetrics(run.dir);
        const double n = double(std::max<qint64>(run.nonEmbeddingParams, 0));
        auto xOf = [&](const MetricPoint& p) {
            return axis == 0 ? p.step : axis == 1 ? p.tokens : estimatedFlops(n, p.tokens);
        };
        const QColor c = seriesColor(colour++, palette());
        if (metric == 0 || metric == 2) {
            QCPGraph* g = m_plot->addGraph();
            g->setName(run.name + QStringLiteral(" · train"));
            QColor light = c;
            light.setAlpha(metric == 0 ? 110 : 255);
            g->setPen(QPen(light, 1.5));
            for (const MetricPoint& p : m.loss) g->addData(xOf(p), p.value);
        }
        if (metric == 0 || metric == 1) {
            QCPGraph* g = m_plot->addGraph();
            g->setName(run.name + QStringLiteral(" · validation"));
            g->setPen(QPen(c, 2.5));
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
            for (const MetricPoint& p : m.valLoss) g->addData(xOf(p), p.value);
        }
    }
    m_plot->xAxis->setLabel(axis == 0 ? QStringLiteral("step") : axis == 1 ? QStringLiteral("tokens") : QStringLiteral("training FLOPs"));
    if (axis == 2) {
        m_plot->xAxis->setScaleType(QCPAxis::stLogarithmic);
        m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
        m_plot->xAxis->setNumberFormat(QStringLiteral("eb"));
        m_plot->xAxis->setNumberPrecision(0);
    } else {
        m_plot->xAxis->setScaleType(QCPAxis::stLinear);
        m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        m_plot->xAxis->setNumberFormat(QStringLiteral("gb"));
        m_plot->xAxis->setNumberPrecision(6);
    }
    m_plot->rescaleAxes();
    m_plot->replot();
}

int RunsPage::overlayGraphCount() const {
    int n = 0;
    for (int i = 0; i < m_plot->graphCount(); ++i) n += m_plot->graph(i)->dataCount() > 0 ? 1 : 0;
    return n;
}

void RunsPage::updateDiff() {
    QStringList names, configs;
    const QStringList dirs = selectedDirs();
    for (const RunSummary& run : m_runs) {
        if (!dirs.contains(run.dir)) continue;
        names << run.name;
        configs << run.configJson;
    }
    const QVector<ConfigDiffRow> rows = configs.size() >= 2 ? diffConfigs(configs) : QVector<ConfigDiffRow>{};
    m_diff->clear();
    m_diff->setColumnCount(1 + names.size());
    m_diff->setHorizontalHeaderLabels(QStringList{QStringLiteral("Key")} + names);
    m_diff->setRowCount(rows.size());
    for (int i = 0; i < rows.size(); ++i) {
        m_diff->setItem(i, 0, new QTableWidgetItem(rows[i].key));
        for (int j = 0; j < rows[i].values.size(); ++j) m_diff->setItem(i, j + 1, new QTableWidgetItem(rows[i].values[j]));
    }
    m_diff->resizeColumnsToContents();
}

bool RunsPage::exportPlot(const QString& file) {
    const QString suffix = QFileInfo(file).suffix().toLower();
    const int w = qMax(m_plot->width(), 800), h = qMax(m_plot->height(), 500);
    if (suffix == QLatin1String("pdf")) return m_plot->savePdf(file, w, h);
    if (suffix == QLatin1String("svg")) {
        QSvgGenerator generator;
        generator.setFileName(file);
        generator.setSize(QSize(w, h));
        generator.setViewBox(QRect(0, 0, w, h));
        generator.setTitle(QStringLiteral("Mamba Studio runs"));
        QCPPainter painter;
        if (!painter.begin(&generator)) return false;
        m_plot->toPainter(&painter, w, h);
        painter.end();
        return QFileInfo(file).size() > 0;
    }
    return m_plot->savePng(file, w, h);
}

bool RunsPage::exportCsv(const QString& file) {
    QFile out(file);
    if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) return false;
    QTextStream s(&out);
    s << "run,type,step,tokens,flops,metric,value\n";
    const QStringList dirs = selectedDirs();
    for (const RunSummary& run : m_runs) {
        if (!dirs.contains(run.dir)) continue;
        const RunMetrics m = readRunMetrics(run.dir);
        const double n = double(std::max<qint64>(run.nonEmbeddingParams, 0));
        auto write = [&](const char* type, const char* metric, const QVector<MetricPoint>& points) {
            for (const MetricPoint& p : points) {
                s << run.name << ',' << type << ',' << qint64(p.step) << ',' << qint64(p.tokens) << ','
                  << QString::number(estimatedFlops(n, p.tokens), 'g', 6) << ',' << metric << ','
                  << QString::number(p.value, 'g', 8) << '\n';
            }
        };
        write("train", "loss", m.loss);
        write("train", "lr", m.lr);
        write("train", "grad_norm", m.gradNorm);
        write("train", "tokens_per_sec", m.tokensPerSec);
        write("eval", "val_loss", m.valLoss);
    }
    return s.status() == QTextStream::Ok;
}

}  // namespace mts::ui
