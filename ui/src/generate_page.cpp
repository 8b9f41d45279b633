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
#include <QMetaObject>
#include <QPlainTextEdit>
#include <QProgressBar>
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
    root->addLayout(buildModelRow());
    m_modelLabel = new QLabel(QStringLiteral("No model loaded."), this);
    m_modelLabel->setObjectName(QStringLiteral("modelLabel"));
    m_modelLabel->setWordWrap(true);
    root->addWidget(m_modelLabel);
    m_loadProgress = new QProgressBar(this);
    m_loadProgress->setObjectName(QStringLiteral("modelLoadProgress"));
    m_loadProgress->setRange(0, 0);  // busy: loading reports no fraction
    m_loadProgress->setMaximumHeight(8);
    m_loadProgress->setTextVisible(false);
    m_loadProgress->hide();
    root->addWidget(m_loadProgress);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(buildChat(splitter));
    splitter->addWidget(buildSampling(splitter));
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);
    root->addWidget(splitter, 1);

    connectControls();
    connectJob();
    setBusy(false);
}

GeneratePage::~GeneratePage() {
    m_stopListing = true;
    m_lister.join();
}

QLayout* GeneratePage::buildModelRow() {
    auto* pickRow = new QHBoxLayout;
    m_modelPicker = new QComboBox(this);
    m_modelPicker->setObjectName(QStringLiteral("modelPicker"));
    m_modelPicker->setMinimumWidth(360);
    m_modelPicker->setToolTip(QStringLiteral("A run's latest checkpoint or one of its saved checkpoints"));
    m_loadButton = new QPushButton(QStringLiteral("Load"), this);
    m_loadButton->setObjectName(QStringLiteral("loadButton"));
    m_loadButton->setToolTip(QStringLiteral("Load the picked checkpoint"));
    m_openButton = new QPushButton(QStringLiteral("Open model folder…"), this);
    m_openButton->setToolTip(QStringLiteral("Load any model folder: a Hugging Face or state-spaces Mamba checkpoint, "
                                            "or a studio checkpoint/run folder"));
    pickRow->addWidget(new QLabel(QStringLiteral("Model:"), this));
    pickRow->addWidget(m_modelPicker, 1);
    pickRow->addWidget(m_loadButton);
    pickRow->addWidget(m_openButton);
    return pickRow;
}

QWidget* GeneratePage::buildChat(QSplitter* parent) {
    auto* chat = new QWidget(parent);
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
    m_sendButton->setToolTip(QStringLiteral("Continue the conversation with the prompt: the model carries its state "
                                            "from the earlier turns (Ctrl+Enter); loads the picked model first if none "
                                            "is loaded"));
    m_stopButton = new QPushButton(QStringLiteral("Stop"), chat);
    m_stopButton->setObjectName(QStringLiteral("stopButton"));
    m_stopButton->setToolTip(QStringLiteral("Stop generating after the current token (Esc)"));
    m_clearButton = new QPushButton(QStringLiteral("Reset"), chat);
    m_clearButton->setObjectName(QStringLiteral("resetButton"));
    m_clearButton->setToolTip(QStringLiteral("Start a new conversation: clear the transcript and the model's state"));
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
    return chat;
}

QWidget* GeneratePage::buildSampling(QSplitter* parent) {
    auto* samplingBox = new QGroupBox(QStringLiteral("Sampling"), parent);
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
    m_weights->setToolTip(QStringLiteral("Precision of the large weight matrices while decoding (Mamba and Mamba-2 on the CPU): "
                                         "int8 reads the least memory per token; fp32 matches training exactly"));
    form->addRow(QStringLiteral("Weights"), m_weights);
    return samplingBox;
}

void GeneratePage::connectControls() {
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
    connect(m_clearButton, &QPushButton::clicked, this, &GeneratePage::resetConversation);
    connect(m_copyButton, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(m_output->toPlainText()); });
    auto* sendShortcut = new QShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return), this);
    connect(sendShortcut, &QShortcut::activated, this, &GeneratePage::send);
    auto* stopShortcut = new QShortcut(QKeySequence(Qt::Key_Escape), this);
    connect(stopShortcut, &QShortcut::activated, this, &GeneratePage::stop);
}

void GeneratePage::connectJob() {
    connect(m_job, &GenerationJob::modelLoaded, this, [this](const QString& description) {
        m_modelLabel->setText(QStringLiteral("Loaded: ") + description);
        m_output->clear();  // a new model, a new conversation
        m_loadProgress->hide();
        setBusy(false);
        if (m_sendWhenLoaded) {
            m_sendWhenLoaded = false;
            send();
        }
    });
    connect(m_job, &GenerationJob::text, this, [this](const QString& piece) { appendOutput(piece); });
    connect(m_job, &GenerationJob::finished, this, [this](const QString& reason, int tokens, double rate) {
        m_rateLabel->setText(QStringLiteral("%1 tokens · %2 tokens/s · %3").arg(tokens).arg(rate, 0, 'f', 1).arg(reason));
        setBusy(false);
        Q_EMIT generationFinished();
    });
    connect(m_job, &GenerationJob::failed, this, [this](const QString& message) {
        m_modelLabel->setText(QStringLiteral("Error: ") + message);
        m_loadProgress->hide();
        m_sendWhenLoaded = false;
        setBusy(false);
        Q_EMIT generationFinished();
    });
}

void GeneratePage::showEvent(QShowEvent* event) {
    refreshModels();
    QWidget::showEvent(event);
}

void GeneratePage::refreshModels() {
    if (m_listing) {
        m_relistWanted = true;
        return;
    }
    m_listing = true;
    m_relistWanted = false;
    const QStringList folders = m_settings.runsFolders();  // old studio locations too
    m_lister.start([this, folders] {
        QVector<RunSummary> runs;
        try {
            for (const QString& folder : folders) runs += listRuns(folder, &m_stopListing);
        } catch (const std::exception&) {
            // An unreadable runs folder lists no models; Open model folder… still works.
        }
        QMetaObject::invokeMethod(this, [this, runs] { applyModels(runs); }, Qt::QueuedConnection);
    });
}

void GeneratePage::applyModels(const QVector<RunSummary>& runs) {
    const QString current = m_modelPicker->currentData().toString();
    m_modelPicker->clear();
    for (const RunSummary& run : runs) {
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
    m_listing = false;
    if (m_relistWanted) {
        refreshModels();
        return;
    }
    Q_EMIT modelsRefreshed();
}

void GeneratePage::loadModel(const QString& path) {
    m_loadedPath = path;
    m_modelLabel->setText(QStringLiteral("Loading %1 …").arg(path));
    m_loadProgress->show();
    setBusy(true);
    m_job->loadModel(path);
}

QString GeneratePage::statusText() const { return m_modelLabel->text(); }

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
    if (m_job->busy()) return;
    if (!m_job->hasModel()) {
        const QString picked = m_modelPicker->currentData().toString();
        if (picked.isEmpty()) {
            m_modelLabel->setText(m_listing ? QStringLiteral("No model loaded yet: the runs folder is still being read; "
                                                             "Send again in a moment, or use Open model folder….")
                                            : QStringLiteral("No model to generate with: train one on the Train page, or "
                                                             "use Open model folder… to load a Hugging Face, state-spaces "
                                                             "or studio model folder."));
            return;
        }
        m_sendWhenLoaded = true;  // the prompt goes out once the model is in
        loadModel(picked);
        return;
    }
    const QString prompt = m_prompt->toPlainText();
    const SamplingSettings s = samplingSettings();
    saveSamplingSettings(s);
    // The output is the transcript the model continues: the prompt (bold) and the continuation
    // right after it, with no separator the model would not see.
    appendOutput(prompt, true);
    if (m_job->generate(prompt, s)) {
        m_rateLabel->setText(QStringLiteral("generating…"));
        setBusy(true);
    }
}

void GeneratePage::saveSamplingSettings(const SamplingSettings& s) {
    m_settings.setValue(QStringLiteral("generate/temperature"), s.temperature);
    m_settings.setValue(QStringLiteral("generate/topK"), s.topK);
    m_settings.setValue(QStringLiteral("generate/topP"), s.topP);
    m_settings.setValue(QStringLiteral("generate/minP"), s.minP);
    m_settings.setValue(QStringLiteral("generate/repetition"), s.repetitionPenalty);
    m_settings.setValue(QStringLiteral("generate/maxTokens"), s.maxNewTokens);
    m_settings.setValue(QStringLiteral("generate/seed"), m_seed->value());
    m_settings.setValue(QStringLiteral("generate/weights"), s.weights);
}

void GeneratePage::stop() { m_job->stop(); }

void GeneratePage::resetConversation() {
    if (m_job->busy()) return;
    m_job->resetConversation();
    m_output->clear();
    m_rateLabel->clear();
}

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
