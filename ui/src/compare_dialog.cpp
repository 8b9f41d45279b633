#include "mts/ui/compare_dialog.h"

#include <QComboBox>
#include <QDesktopServices>
#include <QDir>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>

#include "mts/core/model/architectures.h"
#include "mts/core/train/presets.h"
#include "mts/core/train/train_config.h"
#include "mts/ui/compare_job.h"

namespace mts::ui {

CompareDialog::CompareDialog(const QString& runsFolder, QWidget* parent) : QDialog(parent) {
    setWindowTitle(QStringLiteral("Compare architectures"));
    m_job = new CompareJob(this);
    auto* form = new QFormLayout;
    m_data = new QLineEdit(this);
    m_data->setPlaceholderText(QStringLiteral("corpus folder or text file"));
    QStringList ids;
    for (const auto& id : knownArchitectureIds()) ids << QString::fromStdString(id);
    m_archs = new QLineEdit(ids.join(QLatin1Char(',')), this);
    m_budget = new QLineEdit(QStringLiteral("10m"), this);
    m_budget->setToolTip(QStringLiteral("Per architecture: 10m (minutes), 50000tokens, or 1e12flops"));
    m_out = new QLineEdit(QDir(runsFolder).filePath(QStringLiteral("compare")), this);
    m_params = new QLineEdit(this);
    m_params->setPlaceholderText(QStringLiteral("parameters per model (default: the tiny Mamba's)"));
    form->addRow(QStringLiteral("Data"), m_data);
    form->addRow(QStringLiteral("Architectures"), m_archs);
    form->addRow(QStringLiteral("Budget"), m_budget);
    form->addRow(QStringLiteral("Report folder"), m_out);
    m_training = new QComboBox(this);
    m_training->addItem(QStringLiteral("auto (by the data's size)"), QStringLiteral("auto"));
    try {
        for (const auto& name : PresetCatalog::load().trainingNames())
            m_training->addItem(QString::fromStdString(name), QString::fromStdString(name));
    } catch (const std::exception& e) {  // a malformed user preset file: "auto" still works
        m_training->setToolTip(QString::fromStdString(e.what()));
    }
    m_settings = new QLineEdit(this);
    m_settings->setPlaceholderText(QStringLiteral("key=value for every run, e.g. val_fraction=0.1 model.dropout=0.2"));
    form->addRow(QStringLiteral("Parameters"), m_params);
    form->addRow(QStringLiteral("Training"), m_training);
    form->addRow(QStringLiteral("Settings"), m_settings);
    m_log = new QPlainTextEdit(this);
    m_log->setReadOnly(true);
    m_log->setObjectName(QStringLiteral("compareLog"));
    m_start = new QPushButton(QStringLiteral("Start"), this);
    m_open = new QPushButton(QStringLiteral("Open report folder"), this);
    m_open->setEnabled(false);
    auto* buttons = new QHBoxLayout;
    buttons->addStretch(1);
    buttons->addWidget(m_start);
    buttons->addWidget(m_open);
    auto* root = new QVBoxLayout(this);
    root->addLayout(form);
    root->addWidget(m_log, 1);
    root->addLayout(buttons);
    resize(760, 560);

    connect(m_start, &QPushButton::clicked, this, [this] {
        if (m_job->isRunning()) m_job->cancel();
        else startSuite();
    });
    connect(m_open, &QPushButton::clicked, this,
            [this] { QDesktopServices::openUrl(QUrl::fromLocalFile(m_out->text())); });
    connect(m_job, &CompareJob::progress, this, [this](const QString& line) { m_log->appendPlainText(line); });
    connect(m_job, &CompareJob::finished, this,
            [this](bool ok, const QString& message, const QString&, const QString& markdown) {
                m_log->appendPlainText(message);
                if (!markdown.isEmpty()) m_log->appendPlainText(QStringLiteral("\n") + markdown);
                m_start->setText(QStringLiteral("Start"));
                m_open->setEnabled(!markdown.isEmpty());
                Q_EMIT suiteFinished(ok);
            });
}

CompareDialog::~CompareDialog() { m_job->cancel(); }

bool CompareDialog::isRunning() const { return m_job->isRunning(); }

QString CompareDialog::logText() const { return m_log->toPlainText(); }

bool CompareDialog::startSuite() {
    CompareConfig c;
    CompareChoice choice;
    try {
        c.data = m_data->text().trimmed().toStdString();
        for (const QString& a : m_archs->text().split(QLatin1Char(','), Qt::SkipEmptyParts))
            c.archs.push_back(a.trimmed().toStdString());
        c.budget = CompareBudget::parse(m_budget->text().trimmed().toStdString());
        c.outDir = m_out->text().trimmed().toStdString();
        c.targetParams = m_params->text().trimmed().isEmpty() ? 0 : m_params->text().trimmed().toLongLong();
        if (c.data.empty()) throw std::runtime_error("choose the data to train on");
        for (const std::string& a : c.archs) architectureFromString(a);  // names the accepted ids, here
        choice.trainPreset = m_training->currentData().toString().toStdString();
        TrainConfig probe;  // names a bad key or value now, not after the data has been read
        for (const QString& s : m_settings->text().split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
            probe.set(s.toStdString());
            choice.sets.push_back(s.toStdString());
        }
    } catch (const std::exception& e) {
        m_log->appendPlainText(QStringLiteral("error: ") + QString::fromStdString(e.what()));
        return false;
    }
    m_log->clear();
    m_open->setEnabled(false);
    if (!m_job->start(std::move(c), std::move(choice))) return false;
    m_start->setText(QStringLiteral("Stop"));
    return true;
}

}  // namespace mts::ui
