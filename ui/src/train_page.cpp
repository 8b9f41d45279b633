#include "mts/ui/train_page.h"

#include <algorithm>
#include <stdexcept>

#include <QComboBox>
#include <QDateTime>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QThread>
#include <QVBoxLayout>

#include <nlohmann/json.hpp>

#include "mts/ui/app_settings.h"
#include "mts/ui/memory_bar.h"
#include "mts/ui/rank_run.h"
#include "mts/ui/run_store.h"
#include "mts/ui/theme.h"
#include "mts/ui/train_charts.h"
#include "mts/ui/train_presets.h"
#include "mts/ui/training_controller.h"

namespace mts::ui {

namespace {

QString formatDuration(double seconds) {
    if (seconds < 0) return QStringLiteral("—");
    const qint64 s = qint64(seconds + 0.5);
    if (s < 60) return QStringLiteral("%1 s").arg(s);
    if (s < 3600) return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60);
    return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

void fillPicker(QComboBox* box, const QVector<PresetOption>& options, const QString& wanted) {
    box->clear();
    for (const PresetOption& o : options) {
        box->addItem(o.label, o.id);
        box->setItemData(box->count() - 1, o.tooltip, Qt::ToolTipRole);
    }
    const int i = box->findData(wanted);
    if (i >= 0) box->setCurrentIndex(i);
}

}  // namespace

TrainPage::TrainPage(AppSettings& settings, QWidget* parent)
    : QWidget(parent), m_settings(settings), m_controller(new TrainingController(this)) {
    setObjectName(QStringLiteral("trainPage"));
    auto* root = new QHBoxLayout(this);
    auto* splitter = new QSplitter(Qt::Horizontal, this);
    root->addWidget(splitter);

    auto* scroll = new QScrollArea(splitter);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* panel = new QWidget(scroll);
    buildControls(panel);
    scroll->setWidget(panel);
    scroll->setMinimumWidth(340);

    splitter->addWidget(scroll);
    splitter->addWidget(buildRunView(splitter));
    splitter->setStretchFactor(1, 1);

    connectControls();
    connectController();
    refreshDatasets();
    recompose();
    updateButtons();
}

TrainPage::~TrainPage() = default;

// The right side: status line, progress bar, live charts, samples and log.
QWidget* TrainPage::buildRunView(QWidget* parent) {
    auto* right = new QWidget(parent);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    auto* statusRow = new QHBoxLayout;
    m_progressLabel = new QLabel(QStringLiteral("Idle."), right);
    m_progressLabel->setObjectName(QStringLiteral("progressLabel"));
    m_xAxis = new QComboBox(right);
    m_xAxis->setObjectName(QStringLiteral("xAxisPicker"));
    m_xAxis->addItems({QStringLiteral("x: steps"), QStringLiteral("x: tokens")});
    m_xAxis->setToolTip(QStringLiteral("Plot against optimizer steps or tokens seen"));
    statusRow->addWidget(m_progressLabel, 1);
    statusRow->addWidget(m_xAxis);
    m_progressBar = new QProgressBar(right);
    m_progressBar->setObjectName(QStringLiteral("trainProgress"));
    m_progressBar->setRange(0, 1000);
    m_progressBar->setValue(0);
    m_progressBar->setTextVisible(false);
    m_progressBar->setMaximumHeight(8);
    m_charts = new TrainCharts(right);
    auto* tabs = new QTabWidget(right);
    m_samples = new QListWidget(tabs);
    m_samples->setObjectName(QStringLiteral("samplesList"));
    m_samples->setWordWrap(true);
    m_samples->setToolTip(QStringLiteral("Text the model generates during training (every sample_every steps)"));
    m_log = new QPlainTextEdit(tabs);
    m_log->setObjectName(QStringLiteral("trainLog"));
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(2000);
    tabs->addTab(m_samples, QStringLiteral("Samples"));
    tabs->addTab(m_log, QStringLiteral("Log"));
    tabs->setMaximumHeight(190);
    m_ranksLabel = new QLabel(right);
    m_ranksLabel->setObjectName(QStringLiteral("ranksLabel"));
    m_ranksLabel->setWordWrap(true);
    m_ranksLabel->hide();
    rightLayout->addLayout(statusRow);
    rightLayout->addWidget(m_ranksLabel);
    rightLayout->addWidget(m_progressBar);
    rightLayout->addWidget(m_charts, 1);
    rightLayout->addWidget(tabs);
    return right;
}

void TrainPage::connectController() {
    connect(m_xAxis, &QComboBox::currentIndexChanged, this, [this](int i) { m_charts->setTokensAxis(i == 1); });
    connect(m_controller, &TrainingController::pointsReady, this, &TrainPage::onPoints);
    connect(m_controller, &TrainingController::stateChanged, this, [this] { updateButtons(); });
    connect(m_controller, &TrainingController::ranksChanged, this, [this] {
        QStringList parts;
        for (const RankInfo& r : m_controller->ranks())
            parts << QStringLiteral("rank %1 · pid %2 · %3").arg(r.rank).arg(r.pid).arg(r.alive ? QStringLiteral("running")
                                                                                                 : QStringLiteral("exited"));
        m_ranksLabel->setText(QStringLiteral("%1 processes: ").arg(parts.size()) + parts.join(QStringLiteral("; ")));
        m_ranksLabel->setVisible(!parts.isEmpty());
    });
    connect(m_controller, &TrainingController::finished, this, &TrainPage::onFinished);
    connect(m_controller, &TrainingController::failed, this, &TrainPage::showError);
    connect(m_controller, &TrainingController::sample, this, [this](qint64 step, const QString& prompt, const QString& text) {
        auto* item = new QListWidgetItem(QStringLiteral("step %1 · %2%3").arg(step).arg(prompt.trimmed().isEmpty() ? QString() : prompt + QStringLiteral(" → "), text.left(400)));
        m_samples->insertItem(0, item);
    });
    connect(m_controller, &TrainingController::evaluated, this, [this](qint64 step, qint64, double val, double bpb, bool best) {
        m_log->appendPlainText(QStringLiteral("step %1: validation loss %2 (%3 bits/byte)%4")
                                   .arg(step).arg(val, 0, 'f', 4).arg(bpb, 0, 'f', 3).arg(best ? QStringLiteral(" — best") : QString()));
    });
    connect(m_controller, &TrainingController::checkpointSaved, this, [this](qint64 step, const QString& dir, bool best) {
        m_log->appendPlainText(QStringLiteral("step %1: checkpoint %2%3").arg(step).arg(dir, best ? QStringLiteral(" (best)") : QString()));
    });
    connect(m_controller, &TrainingController::logLine, m_log, &QPlainTextEdit::appendPlainText);
    connect(m_controller, &TrainingController::warning, this, [this](const QString& w) { m_log->appendPlainText(QStringLiteral("warning: ") + w); });
}

void TrainPage::buildControls(QWidget* panel) {
    auto* layout = new QVBoxLayout(panel);
    auto* title = new QLabel(QStringLiteral("Train"), panel);
    title->setProperty("role", QStringLiteral("title"));
    layout->addWidget(title);
    layout->addLayout(buildPickers(panel));

    auto* memoryTitle = new QLabel(QStringLiteral("Estimated memory"), panel);
    m_memoryBar = new MemoryBar(panel);
    m_memoryText = new QLabel(panel);
    m_memoryText->setObjectName(QStringLiteral("memorySuggestion"));
    m_memoryText->setWordWrap(true);
    layout->addWidget(memoryTitle);
    layout->addWidget(m_memoryBar);
    layout->addWidget(m_memoryText);
    layout->addLayout(buildRunButtons(panel));

    m_errorLabel = new QLabel(panel);
    m_errorLabel->setObjectName(QStringLiteral("errorLabel"));
    m_errorLabel->setWordWrap(true);
    m_errorLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_errorLabel->setStyleSheet(QStringLiteral("QLabel { color: #d62d2d; border: 1px solid #d62d2d; border-radius: 4px; padding: 6px; }"));
    m_errorLabel->hide();
    layout->addWidget(m_errorLabel);
    layout->addWidget(buildAdvanced(panel));
    layout->addStretch(1);
}

// Dataset, start-from, and the four preset pickers (filled from the catalog and the settings).
QFormLayout* TrainPage::buildPickers(QWidget* panel) {
    const PresetCatalog catalog = presetCatalog();
    auto* form = new QFormLayout;
    m_dataset = new QComboBox(panel);
    m_dataset->setObjectName(QStringLiteral("datasetPicker"));
    m_dataset->setToolTip(QStringLiteral("The corpus to train on (built on the Dataset page)"));
    m_startFrom = new QComboBox(panel);
    m_startFrom->setObjectName(QStringLiteral("startFromPicker"));
    m_startFrom->setToolTip(QStringLiteral("A new model from the presets, or a model to fine-tune: an imported "
                                           "Hugging Face / state-spaces folder, an export, a checkpoint or a run "
                                           "(its config and tokenizer are used)"));
    m_startFrom->addItem(QStringLiteral("New model"), QString());
    m_startFrom->addItem(QStringLiteral("Model folder…"), QStringLiteral("<choose>"));
    m_arch = new QComboBox(panel);
    m_arch->setObjectName(QStringLiteral("archPicker"));
    m_arch->setToolTip(QStringLiteral("The architecture to train: Mamba, a Transformer of comparable size, or a seed baseline (hover an entry for what it is)"));
    m_size = new QComboBox(panel);
    m_size->setObjectName(QStringLiteral("sizePicker"));
    m_size->setToolTip(QStringLiteral("Model size: width, depth and parameter count"));
    m_tier = new QComboBox(panel);
    m_tier->setObjectName(QStringLiteral("tierPicker"));
    m_tier->setToolTip(QStringLiteral("Memory available for training (detected: %1); override to plan for another machine")
                           .arg(catalog.detectedTier));
    m_training = new QComboBox(panel);
    m_training->setObjectName(QStringLiteral("trainingPresetPicker"));
    m_training->setToolTip(QStringLiteral("How long and how: steps, learning rate schedule, evaluation cadence"));
    fillPicker(m_arch, catalog.architectures, m_settings.value(QStringLiteral("train/arch")).toString());
    fillPicker(m_size, catalog.sizes, m_settings.value(QStringLiteral("train/size")).toString());
    fillPicker(m_tier, catalog.tiers, m_settings.value(QStringLiteral("train/tier"), catalog.detectedTier).toString());
    fillPicker(m_training, catalog.trainings, m_settings.value(QStringLiteral("train/training")).toString());
    form->addRow(QStringLiteral("Dataset"), m_dataset);
    form->addRow(QStringLiteral("Start from"), m_startFrom);
    form->addRow(QStringLiteral("Architecture"), m_arch);
    form->addRow(QStringLiteral("Size"), m_size);
    form->addRow(QStringLiteral("Memory tier"), m_tier);
    form->addRow(QStringLiteral("Training"), m_training);
    m_datasetNote = new QLabel(panel);
    m_datasetNote->setObjectName(QStringLiteral("datasetNote"));
    m_datasetNote->setWordWrap(true);
    m_datasetNote->hide();
    form->addRow(QString(), m_datasetNote);
    m_processes = new QSpinBox(panel);
    m_processes->setObjectName(QStringLiteral("processesSpin"));
    // One rank per core at most: each rank needs a core of its own, and the cores are divided.
    const int cores = std::max(1, QThread::idealThreadCount());
    m_processes->setRange(1, std::max(1, cores));
    m_processes->setValue(std::clamp(m_settings.value(QStringLiteral("train/processes"), 1).toInt(), 1, std::max(1, cores)));
    m_processes->setToolTip(QStringLiteral("Data-parallel processes on this machine (%1 cores). 1 trains in the studio; "
                                           "N > 1 starts mamba-studio-cli train --nproc N: every process holds the whole "
                                           "model, reads its own share of each batch and the gradients are averaged; the "
                                           "cores are divided among the processes. Pause is not available then.")
                                .arg(cores));
    form->addRow(QStringLiteral("Processes"), m_processes);
    return form;
}

QLayout* TrainPage::buildRunButtons(QWidget* panel) {
    auto* buttons = new QHBoxLayout;
    m_trainButton = new QPushButton(QIcon(QStringLiteral(":/icons/train.svg")), QStringLiteral("Train"), panel);
    m_trainButton->setObjectName(QStringLiteral("trainButton"));
    m_trainButton->setToolTip(QStringLiteral("Start a new run with this configuration (Ctrl+T)"));
    m_pauseButton = new QPushButton(QStringLiteral("Pause"), panel);
    m_pauseButton->setObjectName(QStringLiteral("pauseButton"));
    m_pauseButton->setToolTip(QStringLiteral("Pause after the current step / continue (Ctrl+P)"));
    m_stopButton = new QPushButton(QStringLiteral("Stop"), panel);
    m_stopButton->setObjectName(QStringLiteral("stopButton"));
    m_stopButton->setToolTip(QStringLiteral("Stop after the current step and save a checkpoint (Ctrl+.)"));
    m_resumeButton = new QPushButton(QStringLiteral("Resume…"), panel);
    m_resumeButton->setObjectName(QStringLiteral("resumeButton"));
    m_resumeButton->setToolTip(QStringLiteral("Continue a stopped run from its latest checkpoint"));
    buttons->addWidget(m_trainButton);
    buttons->addWidget(m_pauseButton);
    buttons->addWidget(m_stopButton);
    buttons->addWidget(m_resumeButton);
    return buttons;
}

// The advanced panel: checkpoint cadence fields and the JSON editor, both views of m_config.
QGroupBox* TrainPage::buildAdvanced(QWidget* panel) {
    m_advanced = new QGroupBox(QStringLiteral("Advanced: effective configuration"), panel);
    m_advanced->setCheckable(true);
    m_advanced->setChecked(false);
    m_advanced->setToolTip(QStringLiteral("The full configuration the presets compose to; edit any key, save or load it as JSON"));
    auto* advLayout = new QVBoxLayout(m_advanced);
    auto* fields = new QFormLayout;
    m_checkpointEvery = new QSpinBox(m_advanced);
    m_checkpointEvery->setObjectName(QStringLiteral("checkpointEverySpin"));
    m_checkpointEvery->setRange(0, 100000000);
    m_checkpointEvery->setSuffix(QStringLiteral(" steps"));
    m_checkpointEvery->setSpecialValueText(QStringLiteral("off"));
    m_checkpointEvery->setToolTip(QStringLiteral("Save a checkpoint every N optimizer steps (checkpoint_every; off = by time and at the end)"));
    m_checkpointMinutes = new QDoubleSpinBox(m_advanced);
    m_checkpointMinutes->setObjectName(QStringLiteral("checkpointMinutesSpin"));
    m_checkpointMinutes->setRange(0, 100000);
    m_checkpointMinutes->setDecimals(1);
    m_checkpointMinutes->setSuffix(QStringLiteral(" min"));
    m_checkpointMinutes->setSpecialValueText(QStringLiteral("off"));
    m_checkpointMinutes->setToolTip(QStringLiteral("Also save a checkpoint after this much wall-clock time (checkpoint_minutes): "
                                                   "whichever of steps and minutes comes first; the first checkpoint comes no later"));
    fields->addRow(QStringLiteral("Checkpoint every"), m_checkpointEvery);
    fields->addRow(QStringLiteral("or every"), m_checkpointMinutes);
    m_configEditor = new QPlainTextEdit(m_advanced);
    m_configEditor->setObjectName(QStringLiteral("configEditor"));
    m_configEditor->setMinimumHeight(220);
    m_configEditor->setVisible(false);
    auto* advButtons = new QHBoxLayout;
    auto* save = new QPushButton(QStringLiteral("Save JSON…"), m_advanced);
    save->setToolTip(QStringLiteral("Write this configuration to a file"));
    auto* load = new QPushButton(QStringLiteral("Load JSON…"), m_advanced);
    load->setToolTip(QStringLiteral("Read a configuration file (e.g. a run's config.json)"));
    auto* reset = new QPushButton(QStringLiteral("Reset"), m_advanced);
    reset->setToolTip(QStringLiteral("Discard edits: recompose from the presets"));
    for (QPushButton* b : {save, load, reset}) {
        b->setVisible(false);
        advButtons->addWidget(b);
    }
    advLayout->addLayout(fields);
    advLayout->addWidget(m_configEditor);
    advLayout->addLayout(advButtons);
    connect(m_advanced, &QGroupBox::toggled, this, [this, save, load, reset](bool on) {
        for (QWidget* w : {static_cast<QWidget*>(m_configEditor), static_cast<QWidget*>(save), static_cast<QWidget*>(load),
                           static_cast<QWidget*>(reset)})
            w->setVisible(on);
    });
    connect(save, &QPushButton::clicked, this, &TrainPage::saveConfigAs);
    connect(load, &QPushButton::clicked, this, &TrainPage::loadConfigFrom);
    connect(reset, &QPushButton::clicked, this, &TrainPage::recompose);
    return m_advanced;
}

void TrainPage::connectControls() {
    connect(m_startFrom, qOverload<int>(&QComboBox::activated), this, &TrainPage::onStartFromActivated);
    // activated: only a user's pick (not ours from applyDatasetDefaults) pins the training preset.
    connect(m_training, qOverload<int>(&QComboBox::activated), this, [this] { m_trainingChosen = true; });
    connect(m_size, qOverload<int>(&QComboBox::activated), this, [this] { m_sizeChosen = true; });
    for (QComboBox* box : {m_dataset, m_arch, m_size, m_tier, m_training}) {
        connect(box, &QComboBox::currentIndexChanged, this, [this] {
            if (!m_recomposing) recompose();
        });
    }
    connect(m_configEditor, &QPlainTextEdit::textChanged, this, [this] {
        if (!m_recomposing && !m_showing) onEditorEdited();
    });
    connect(m_checkpointEvery, qOverload<int>(&QSpinBox::valueChanged), this, [this] {
        if (!m_showing) onFieldsEdited();
    });
    connect(m_checkpointMinutes, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this] {
        if (!m_showing) onFieldsEdited();
    });
    connect(m_trainButton, &QPushButton::clicked, this, [this] { startTraining(); });
    connect(m_pauseButton, &QPushButton::clicked, this, [this] {
        if (m_controller->state() == TrainingController::State::Paused) m_controller->resume();
        else m_controller->pause();
    });
    connect(m_stopButton, &QPushButton::clicked, m_controller, &TrainingController::stop);
    connect(m_resumeButton, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, QStringLiteral("Resume which run?"), m_settings.runsFolder());
        if (!dir.isEmpty()) resumeTraining(dir);
    });
    auto shortcut = [this](const QKeySequence& keys, QPushButton* button) {
        auto* s = new QShortcut(keys, this);
        connect(s, &QShortcut::activated, button, [button] {
            if (button->isEnabled()) button->click();
        });
    };
    shortcut(QKeySequence(Qt::CTRL | Qt::Key_T), m_trainButton);
    shortcut(QKeySequence(Qt::CTRL | Qt::Key_P), m_pauseButton);
    shortcut(QKeySequence(Qt::CTRL | Qt::Key_Period), m_stopButton);
}

void TrainPage::onStartFromActivated(int index) {
    if (m_startFrom->itemData(index).toString() == QStringLiteral("<choose>")) {
        const QString dir = QFileDialog::getExistingDirectory(this, QStringLiteral("Fine-tune which model?"),
                                                              m_settings.runsFolder());
        if (dir.isEmpty()) {
            m_startFrom->setCurrentIndex(0);
        } else {
            m_startFrom->insertItem(1, QFileInfo(dir).fileName(), dir);
            m_startFrom->setItemData(1, dir, Qt::ToolTipRole);
            m_startFrom->setCurrentIndex(1);
        }
    }
    recompose();
}

void TrainPage::refreshDatasets() {
    const QString current = m_dataset->currentData().toString();
    const QString wanted = current.isEmpty() ? m_settings.lastDataset() : current;
    m_recomposing = true;
    m_dataset->clear();
    for (const QString& dir : m_settings.datasets()) m_dataset->addItem(QFileInfo(dir).fileName(), dir);
    const int i = m_dataset->findData(wanted);
    if (i >= 0) m_dataset->setCurrentIndex(i);
    m_recomposing = false;
    if (m_dataset->currentData().toString() != current) recompose();
}

void TrainPage::setDataset(const QString& corpusDir) {
    if (m_dataset->findData(corpusDir) < 0) m_dataset->addItem(QFileInfo(corpusDir).fileName(), corpusDir);
    m_dataset->setCurrentIndex(m_dataset->findData(corpusDir));
}

void TrainPage::choosePresets(const QString& arch, const QString& size, const QString& tier, const QString& training) {
    m_recomposing = true;
    auto pick = [](QComboBox* box, const QString& id) {
        if (id.isEmpty()) return;
        const int i = box->findData(id);
        if (i >= 0) box->setCurrentIndex(i);
    };
    pick(m_arch, arch);
    pick(m_size, size);
    pick(m_tier, tier);
    pick(m_training, training);
    if (!training.isEmpty()) m_trainingChosen = true;  // an explicit pick outlives dataset changes
    if (!size.isEmpty()) m_sizeChosen = true;
    m_recomposing = false;
    recompose();
}

void TrainPage::applyDatasetDefaults() {
    const QString dataset = m_dataset->currentData().toString();
    if (dataset == m_defaultsFor) return;
    m_defaultsFor = dataset;
    const DatasetDefaults d = datasetDefaults(dataset);
    m_datasetNote->setText(d.note);
    m_datasetNote->setVisible(!d.note.isEmpty());
    const bool was = m_recomposing;
    m_recomposing = true;
    auto pick = [](QComboBox* box, const QString& id) {
        const int i = id.isEmpty() ? -1 : box->findData(id);
        if (i >= 0) box->setCurrentIndex(i);
    };
    if (!m_trainingChosen) pick(m_training, d.training);
    if (!m_sizeChosen && m_startFrom->currentData().toString().isEmpty()) pick(m_size, d.size);
    m_recomposing = was;
}

void TrainPage::recompose() {
    applyDatasetDefaults();
    PresetChoice choice{m_arch->currentData().toString(), m_size->currentData().toString(),
                        m_tier->currentData().toString(), m_training->currentData().toString()};
    m_settings.setValue(QStringLiteral("train/arch"), choice.arch);
    m_settings.setValue(QStringLiteral("train/size"), choice.size);
    m_settings.setValue(QStringLiteral("train/tier"), choice.tier);
    m_settings.setValue(QStringLiteral("train/training"), choice.training);
    m_recomposing = true;
    const QString startFrom = m_startFrom->currentData().toString();
    m_arch->setEnabled(startFrom.isEmpty());  // a fine-tuned model keeps its own architecture and size
    m_size->setEnabled(startFrom.isEmpty());
    try {
        TrainConfig composed = composeTrainConfig(choice, m_dataset->currentData().toString());
        composed.initFrom = startFrom.toStdString();
        m_config = composed;
        m_editorError.clear();
        showConfig(/*inEditor=*/true);
        m_errorLabel->hide();
    } catch (const std::exception& e) {
        showError(QString::fromUtf8(e.what()));
    }
    m_recomposing = false;
    updateEstimate();
}

void TrainPage::showConfig(bool inEditor) {
    m_showing = true;
    m_checkpointEvery->setValue(int(std::min<int64_t>(m_config.checkpointEvery, m_checkpointEvery->maximum())));
    m_checkpointMinutes->setValue(m_config.checkpointMinutes);
    if (inEditor) m_configEditor->setPlainText(QString::fromStdString(m_config.toJson().dump(2)));
    m_showing = false;
}

// Typed (or set) editor text: a valid config replaces m_config and the fields follow; anything
// else keeps m_config and is reported until fixed.
void TrainPage::onEditorEdited() {
    try {
        const nlohmann::json j = nlohmann::json::parse(m_configEditor->toPlainText().toStdString());
        m_config = TrainConfig::fromJson(j);
        m_editorError.clear();
        showConfig(/*inEditor=*/false);
    } catch (const nlohmann::json::parse_error& e) {
        m_editorError = QStringLiteral("The configuration is not valid JSON: %1").arg(QString::fromUtf8(e.what()));
    } catch (const std::exception& e) {
        m_editorError = QStringLiteral("The configuration has an error: %1").arg(QString::fromUtf8(e.what()));
    }
    updateEstimate();
}

void TrainPage::onFieldsEdited() {
    m_config.checkpointEvery = m_checkpointEvery->value();
    m_config.checkpointMinutes = m_checkpointMinutes->value();
    m_editorError.clear();
    showConfig(/*inEditor=*/true);
    updateEstimate();
}

void TrainPage::updateEstimate() {
    try {
        if (!m_editorError.isEmpty()) throw std::runtime_error(m_editorError.toStdString());
        const MemoryEstimateView est = estimateMemory(m_config, m_tier->currentData().toString());
        m_memoryBar->setEstimate({{QStringLiteral("weights"), est.weights},
                                  {QStringLiteral("gradients"), est.gradients},
                                  {QStringLiteral("optimizer"), est.optimizer},
                                  {QStringLiteral("activations"), est.activations},
                                  {QStringLiteral("other"), est.other}},
                                 est.budget);
        QString text = est.summary;
        if (!est.fits) text += QStringLiteral("\nWill not fit in this tier. ") + est.suggestion;
        m_memoryText->setText(text);
        m_memoryText->setStyleSheet(est.fits ? QString() : QStringLiteral("color: #d62d2d"));
    } catch (const std::exception& e) {
        m_memoryBar->clear();
        m_memoryText->setText(QStringLiteral("No estimate: ") + QString::fromUtf8(e.what()));
        m_memoryText->setStyleSheet(QStringLiteral("color: #d62d2d"));
    }
}

void TrainPage::setConfig(const TrainConfig& config) {
    m_config = config;
    m_editorError.clear();
    showConfig(/*inEditor=*/true);
    updateEstimate();
}

QString TrainPage::configJson() const { return m_configEditor->toPlainText(); }

void TrainPage::setConfigJson(const QString& json) {
    m_configEditor->setPlainText(json);  // textChanged reads it into m_config
}

bool TrainPage::isTraining() const { return m_controller->active(); }

void TrainPage::stopAndWait() {
    if (!m_controller->active()) return;
    m_controller->stop();
    m_controller->waitForFinish();
}

bool TrainPage::startTraining() {
    m_errorLabel->hide();
    if (!m_editorError.isEmpty()) {
        showError(m_editorError);
        return false;
    }
    QString error;
    m_charts->clear();
    m_samples->clear();
    m_controller->setProcesses(m_processes->value());
    m_settings.setValue(QStringLiteral("train/processes"), m_processes->value());
    if (!m_controller->start(m_config, m_settings.runsFolder(), {}, &error)) {
        showError(error);
        return false;
    }
    m_settings.setLastDataset(m_dataset->currentData().toString());
    m_log->appendPlainText(QStringLiteral("— new run started %1 —").arg(QDateTime::currentDateTime().toString(Qt::ISODate)));
    return true;
}

bool TrainPage::resumeTraining(const QString& runOrCheckpoint) {
    m_errorLabel->hide();
    // The page's step limit carries over (a valid config only: the editor may hold a typo).
    QString overrides;
    if (m_editorError.isEmpty())
        overrides = QString::fromStdString(nlohmann::json{{"max_steps", m_config.maxSteps}}.dump());
    QString error;
    m_charts->clear();
    m_controller->setProcesses(m_processes->value());
    if (!m_controller->resumeRun(runOrCheckpoint, overrides, &error)) {
        showError(error);
        return false;
    }
    // Show the curve so far, then the live points continue it.
    const RunMetrics past = readRunMetrics(runOrCheckpoint);
    std::vector<std::vector<MetricPoint>> batch(kSeriesCount);
    batch[kSeriesLoss].assign(past.loss.begin(), past.loss.end());
    batch[kSeriesValLoss].assign(past.valLoss.begin(), past.valLoss.end());
    batch[kSeriesLr].assign(past.lr.begin(), past.lr.end());
    batch[kSeriesGradNorm].assign(past.gradNorm.begin(), past.gradNorm.end());
    batch[kSeriesTokensPerSec].assign(past.tokensPerSec.begin(), past.tokensPerSec.end());
    m_charts->append(batch);
    m_log->appendPlainText(QStringLiteral("— resuming %1 —").arg(runOrCheckpoint));
    return true;
}

void TrainPage::updateButtons() {
    const auto state = m_controller->state();
    const bool idle = state == TrainingController::State::Idle;
    m_trainButton->setEnabled(idle);
    m_resumeButton->setEnabled(idle);
    m_pauseButton->setEnabled(m_controller->canPause() &&
                              (state == TrainingController::State::Running || state == TrainingController::State::Paused));
    m_processes->setEnabled(idle);
    m_pauseButton->setText(state == TrainingController::State::Paused ? QStringLiteral("Continue") : QStringLiteral("Pause"));
    m_stopButton->setEnabled(state == TrainingController::State::Running || state == TrainingController::State::Paused);
    for (QComboBox* box : {m_dataset, m_arch, m_size, m_tier, m_training}) box->setEnabled(idle);
    m_configEditor->setReadOnly(!idle);
    m_checkpointEvery->setEnabled(idle);
    m_checkpointMinutes->setEnabled(idle);
    if (state == TrainingController::State::Stopping) m_progressLabel->setText(QStringLiteral("Stopping: saving a checkpoint…"));
    if (state == TrainingController::State::Paused) m_progressLabel->setText(m_progressLabel->text() + QStringLiteral(" — paused"));
}

void TrainPage::onPoints() {
    m_charts->append(m_controller->series().drain());
    const TrainProgressInfo p = m_controller->latestProgress();
    if (!p.valid) return;
    QString text = QStringLiteral("step %1%2 · loss %3 · %4 tokens/s · elapsed %5 · ETA %6")
                       .arg(p.step)
                       .arg(p.maxSteps > 0 ? QStringLiteral("/%1").arg(p.maxSteps) : QString())
                       .arg(p.loss, 0, 'f', 4)
                       .arg(p.tokensPerSec, 0, 'f', 0)
                       .arg(formatDuration(p.elapsedSec), formatDuration(p.etaSec));
    if (m_controller->state() == TrainingController::State::Paused) text += QStringLiteral(" — paused");
    if (m_controller->state() != TrainingController::State::Stopping) m_progressLabel->setText(text);
    if (p.maxSteps > 0) m_progressBar->setValue(int(1000.0 * double(p.step) / double(p.maxSteps)));
}

void TrainPage::onFinished(const TrainOutcome& o) {
    m_progressLabel->setText(QStringLiteral("Finished (%1): %2 steps, %3 tokens, best validation loss %4, %5")
                                 .arg(o.stopReason)
                                 .arg(o.steps)
                                 .arg(o.tokensSeen)
                                 .arg(o.bestValLoss >= 0 ? QString::number(o.bestValLoss, 'f', 4) : QStringLiteral("—"))
                                 .arg(formatDuration(o.elapsedSec)));
    if (!o.lastCheckpoint.isEmpty()) m_log->appendPlainText(QStringLiteral("last checkpoint: ") + o.lastCheckpoint);
    for (const QString& w : o.warnings) m_log->appendPlainText(QStringLiteral("warning: ") + w);
    updateButtons();
}

void TrainPage::showError(const QString& message) {
    m_errorLabel->setText(message);
    m_errorLabel->show();
    m_log->appendPlainText(QStringLiteral("error: ") + message);
}

QString TrainPage::lastError() const { return m_errorLabel->isHidden() ? QString() : m_errorLabel->text(); }

void TrainPage::saveConfigAs() {
    const QString file = QFileDialog::getSaveFileName(this, QStringLiteral("Save configuration"), QStringLiteral("config.json"),
                                                      QStringLiteral("JSON (*.json)"));
    if (file.isEmpty()) return;
    QFile out(file);
    if (!out.open(QIODevice::WriteOnly) || out.write(configJson().toUtf8()) < 0) showError(QStringLiteral("Cannot write ") + file);
}

void TrainPage::loadConfigFrom() {
    const QString file = QFileDialog::getOpenFileName(this, QStringLiteral("Load configuration"), m_settings.runsFolder(),
                                                      QStringLiteral("JSON (*.json)"));
    if (file.isEmpty()) return;
    QFile in(file);
    if (!in.open(QIODevice::ReadOnly)) {
        showError(QStringLiteral("Cannot read ") + file);
        return;
    }
    try {
        setConfig(TrainConfig::fromJson(nlohmann::json::parse(in.readAll().toStdString())));
    } catch (const std::exception& e) {
        showError(QStringLiteral("%1: not a training configuration (%2)").arg(file, QString::fromUtf8(e.what())));
    }
}

}  // namespace mts::ui
