#include "mts/ui/generate_page.h"

#include <algorithm>

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include "mts/ui/app_settings.h"
#include "mts/ui/generation_job.h"
#include "mts/ui/run_store.h"

namespace mts::ui {

namespace {

QDoubleSpinBox* doubleBox(double lo, double hi, double step, int decimals, double value, const QString& tip, QWidget* parent) {
    auto* box = new QDoubleSpinBox(parent);
    box->setRange(lo, hi);
    box->setSingleStep(step);
    box->setDecimals(decimals);
    box->setValue(value);
    box->setToolTip(tip);
    return box;
}

QSpinBox* intBox(int lo, int hi, int value, const QString& tip, QWidget* parent) {
    auto* box = new QSpinBox(parent);
    box->setRange(lo, hi);
    box->setValue(value);
    box->setToolTip(tip);
    return box;
}

}  // namespace

GeneratePage::GeneratePage(AppSettings& settings, QWidget* parent)
    : QWidget(parent), m_settings(settings), m_job(new GenerationJob(this)) {
    setObjectName(QStringLiteral("generatePage"));
    auto* root = new QVBoxLayout(this);

    auto* title = new QLabel(QStringLiteral("Generate"), this);
    title->setProperty("role", QStringLiteral("title"));
    root->addWidget(title);

    auto* pickRow = new QHBoxLayout;
    m_modelPicker = new QComboBox(this);
    m_modelPicker->setObjectName(QStringLiteral("modelPicker"));
    m_modelPicker->setMinimumWidth(360);
    m_modelPicker->setToolTip(QStringLiteral("A run's latest checkpoint or one of its saved checkpoints"));
    m_loadButton = new QPushButton(QStringLiteral("Load"), this);
    m_loadButton->setToolTip(QStringLiteral("Load the picked checkpoint"));
    m_openButton = new QPushButton(QStringLiteral("Open model folder…"), this);
    m_openButton->setToolTip(QStringLiteral("Load any model folder: a Hugging Face or state-spaces Mamba checkpoint, "
                                            "or a studio checkpoint/run folder"));
    pickRow->addWidget(new QLabel(QStringLiteral("Model:"), this));
    pickRow->addWidget(m_modelPicker, 1);
    pickRow->addWidget(m_loadButton);
    pickRow->addWidget(m_openButton);
    root->addLayout(pickRow);
    m_modelLabel = new QLabel(QStringLiteral("No model loaded."), this);
    m_modelLabel->setObjectName(QStringLiteral("modelLabel"));
    m_modelLabel->setWordWrap(true);
    root->addWidget(m_modelLabel);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    auto* chat = new QWidget(splitter);
    auto* chatLayout = new QVBoxLayout(chat);
    chatLayout->setContentsMargins(0, 0, 0, 0);
    m_output = new QPlainTextEdit(chat);
    m_output->setObjectName(QStringLiteral("chatOutput"));
    m_output->setReadOnly(true);
    m_output->setPlaceholderText(QStringLiteral("The conversation appears here; generated text streams in token by token."));
    m_prompt = new QPlainTextEdit(chat);
    m_prompt->setObjectName(QStringLiteral("promptEdit"));
    m_prompt->setPlaceholderText(QStringLiteral("Prompt (Ctrl+Enter to send, Esc to stop)"));
    m_prompt->setMaximumHeight(110);
    auto* buttons = new QHBoxLayout;
    m_sendButton = new QPushButton(QStringLiteral("Send"), chat);
    m_sendButton->setObjectName(QStringLiteral("sendButton"));
    m_sendButton->setToolTip(QStringLiteral("Generate a continuation of the prompt (Ctrl+Enter)"));
    m_stopButton = new QPushButton(QStringLiteral("Stop"), chat);
    m_stopButton->setObjectName(QStringLiteral("stopButton"));
    m_stopButton->setToolTip(QStringLiteral("Stop generating after the current token (Esc)"));
    m_clearButton = new QPushButton(QStringLiteral("Clear"), chat);
    m_clearButton->setToolTip(QStringLiteral("Clear the conversation history"));
    m_copyButton = new QPushButton(QStringLiteral("Copy"), chat);
    m_copyButton->setToolTip(QStringLiteral("Copy the conversation to the clipboard"));
    m_rateLabel = new QLabel(chat);
    m_rateLabel->setObjectName(QStringLiteral("rateLabel"));
    buttons->addWidget(m_sendButton);
    buttons->addWidget(m_stopButton);
    buttons->addStretch(1);
    buttons->addWidget(m_rateLabel);
    buttons->addWidget(m_clearButton);
    buttons->addWidget(m_copyButton);
    chatLayout->addWidget(m_output, 1);
    chatLayout->addWidget(m_prompt);
    chatLayout->addLayout(buttons);

    auto* samplingBox = new QGroupBox(QStringLiteral("Sampling"), splitter);
    auto* form = new QFormLayout(samplingBox);
    m_temperature = doubleBox(0, 5, 0.05, 2, m_settings.value(QStringLiteral("generate/temperature"), 0.8).toDouble(),
                              QStringLiteral("Divides the logits: lower is more predictable, 0 is greedy (always the most likely token)"), samplingBox);
    m_topK = intBox(0, 100000, m_settings.value(QStringLiteral("generate/topK"), 0).toInt(),
                    QStringLiteral("Sample only among the k most likely tokens; 0 = off"), samplingBox);
    m_topP = doubleBox(0.01, 1, 0.01, 2, m_settings.value(QStringLiteral("generate/topP"), 0.95).toDouble(),
                       QStringLiteral("Nucleus sampling: the smallest set of tokens whose probability adds up to p; 1 = off"), samplingBox);
    m_minP = doubleBox(0, 1, 0.01, 2, m_settings.value(QStringLiteral("generate/minP"), 0.0).toDouble(),
                       QStringLiteral("Drop tokens less likely than min-p × the most likely one; 0 = off"), samplingBox);
    m_repetition = doubleBox(0.5, 3, 0.05, 2, m_settings.value(QStringLiteral("generate/repetition"), 1.1).toDouble(),
                             QStringLiteral("Above 1 makes tokens seen in the last 64 less likely; 1 = off"), samplingBox);
    m_maxTokens = intBox(1, 100000, m_settings.value(QStringLiteral("generate/maxTokens"), 200).toInt(),
                         QStringLiteral("Most tokens to generate per Send"), samplingBox);
    m_seed = intBox(0, 1 << 30, m_settings.value(QStringLiteral("generate/seed"), 0).toInt(),
                    QStringLiteral("Random seed: the same seed, prompt and settings give the same text"), samplingBox);
    form->addRow(QStringLiteral("Temperature"), m_temperature);
    form->addRow(QStringLiteral("Top-k"), m_topK);
    form->addRow(QStringLiteral("Top-p"), m_topP);
    form->addRow(QStringLiteral("Min-p"), m_minP);
    form->addRow(QStringLiteral("Repetition penalty"), m_repetition);
    form->addRow(QStringLiteral("Max new tokens"), m_maxTokens);
    form->addRow(QStringLiteral("Seed"), m_seed);
    m_weights = new QComboBox(samplingBox);
    m_weights->setObjectName(QStringLiteral("weightsPicker"));
    m_weights->addItem(QStringLiteral("int8 (fastest, default)"), QStringLiteral("int8"));
    m_weights->addItem(QStringLiteral("bf16"), QStringLiteral("bf16"));
    m_weights->addItem(QStringLiteral("f16"), QStringLiteral("f16"));
    m_weights->addItem(QStringLiteral("fp32"), QStringLiteral("fp32"));
    m_weights->addItem(QStringLiteral("reference (LibTorch)"), QStringLiteral("reference"));
    m_weights->setCurrentIndex(
        std::max(0, m_weights->findData(m_settings.value(QStringLiteral("generate/weights"), QStringLiteral("int8")))));
    m_weights->setToolTip(QStringLiteral("Precision of the large weight matrices while decoding (Mamba on the CPU): "
                                         "int8 reads the least memory per token; fp32 matches training exactly"));
    form->addRow(QStringLiteral("Weights"), m_weights);
    splitter->addWidget(chat);
    splitter->addWidget(samplingBox);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);
    root->addWidget(splitter, 1);

    connect(m_loadButton, &QPushButton::clicked, this, [this] {
        const QString path = m_modelPicker->currentData().toString();
        if (!path.isEmpty()) loadModel(path);
    });
    connect(m_openButton, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, QStringLiteral("Open a model folder"));
        if (!dir.isEmpty()) loadModel(dir);
    });
    connect(m_sendButton, &QPushButton::clicked, this, &GeneratePage::send);
    connect(m_stopButton, &QPushButton::clicked, this, &GeneratePage::stop);
    connect(m_clearButton, &QPushButton::clicked, m_output, &QPlainTextEdit::clear);
    connect(m_copyButton, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(m_output->toPlainText()); });
    auto* sendShortcut = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return), this);
    connect(sendShortcut, &QShortcut::activated, this, &GeneratePage::send);
    auto* stopShortcut = new QShortcut(QKeySequence(Qt::Key_Escape), this);
    connect(stopShortcut, &QShortcut::activated, this, &GeneratePage::stop);

    connect(m_job, &GenerationJob::modelLoaded, this, [this](const QString& description) {
        m_modelLabel->setText(QStringLiteral("Loaded: ") + description);
        setBusy(false);
    });
    connect(m_job, &GenerationJob::text, this, [this](const QString& piece) { appendOutput(piece); });
    connect(m_job, &GenerationJob::finished, this, [this](const QString& reason, int tokens, double rate) {
        m_rateLabel->setText(QStringLiteral("%1 tokens · %2 tokens/s · %3").arg(tokens).arg(rate, 0, 'f', 1).arg(reason));
        appendOutput(QStringLiteral("\n\n"));
        setBusy(false);
        Q_EMIT generationFinished();
    });
    connect(m_job, &GenerationJob::failed, this, [this](const QString& message) {
        m_modelLabel->setText(QStringLiteral("Error: ") + message);
        setBusy(false);
        Q_EMIT generationFinished();
    });
    setBusy(false);
}

GeneratePage::~GeneratePage() = default;

void GeneratePage::showEvent(QShowEvent* event) {
    refreshModels();
    QWidget::showEvent(event);
}

void GeneratePage::refreshModels() {
    const QString current = m_modelPicker->currentData().toString();
    m_modelPicker->clear();
    for (const RunSummary& run : listRuns(m_settings.runsFolder())) {
        if (run.checkpoints.isEmpty()) continue;
        m_modelPicker->addItem(QStringLiteral("%1 — latest (%2)").arg(run.name, run.arch), run.dir);
        for (int i = run.checkpoints.size() - 1; i >= 0; --i) {
            m_modelPicker->addItem(QStringLiteral("    %1 / %2").arg(run.name, QFileInfo(run.checkpoints[i]).fileName()),
                                   run.checkpoints[i]);
        }
    }
    const int index = m_modelPicker->findData(current);
    if (index >= 0) m_modelPicker->setCurrentIndex(index);
    m_loadButton->setEnabled(m_modelPicker->count() > 0 && !m_job->busy());
}

void GeneratePage::loadModel(const QString& path) {
    m_loadedPath = path;
    m_modelLabel->setText(QStringLiteral("Loading %1 …").arg(path));
    setBusy(true);
    m_job->loadModel(path);
}

SamplingSettings GeneratePage::samplingSettings() const {
    SamplingSettings s;
    s.temperature = m_temperature->value();
    s.topK = m_topK->value();
    s.topP = m_topP->value();
    s.minP = m_minP->value();
    s.repetitionPenalty = m_repetition->value();
    s.maxNewTokens = m_maxTokens->value();
    s.seed = quint64(m_seed->value());
    s.weights = m_weights->currentData().toString();
    return s;
}

void GeneratePage::send() {
    const QString prompt = m_prompt->toPlainText();
    if (m_job->busy() || !m_job->hasModel()) return;
    const SamplingSettings s = samplingSettings();
    m_settings.setValue(QStringLiteral("generate/temperature"), s.temperature);
    m_settings.setValue(QStringLiteral("generate/topK"), s.topK);
    m_settings.setValue(QStringLiteral("generate/topP"), s.topP);
    m_settings.setValue(QStringLiteral("generate/minP"), s.minP);
    m_settings.setValue(QStringLiteral("generate/repetition"), s.repetitionPenalty);
    m_settings.setValue(QStringLiteral("generate/maxTokens"), s.maxNewTokens);
    m_settings.setValue(QStringLiteral("generate/seed"), m_seed->value());
    m_settings.setValue(QStringLiteral("generate/weights"), s.weights);
    appendOutput(prompt, true);  // the continuation streams right after it, in normal weight
    if (m_job->generate(prompt, s)) {
        m_rateLabel->setText(QStringLiteral("generating…"));
        setBusy(true);
    }
}

void GeneratePage::stop() { m_job->stop(); }

void GeneratePage::appendOutput(const QString& text, bool emphasis) {
    QTextCursor cursor = m_output->textCursor();
    cursor.movePosition(QTextCursor::End);
    QTextCharFormat format;
    format.setFontWeight(emphasis ? QFont::Bold : QFont::Normal);
    cursor.insertText(text, format);
    m_output->verticalScrollBar()->setValue(m_output->verticalScrollBar()->maximum());
}

void GeneratePage::setBusy(bool busy) {
    m_sendButton->setEnabled(!busy);
    m_stopButton->setEnabled(busy);
    m_loadButton->setEnabled(!busy && m_modelPicker->count() > 0);
    m_openButton->setEnabled(!busy);
}

}  // namespace mts::ui
