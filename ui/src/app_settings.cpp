#include "mts/ui/app_settings.h"

#include <QDir>

#include "mts/core/train/data_dirs.h"

namespace mts::ui {

AppSettings::AppSettings(const QString& iniFile, const QString& dataDir) {
    if (iniFile.isEmpty()) {
        m_settings = std::make_unique<QSettings>(QStringLiteral("MambaStudio"),
                                                 QStringLiteral("mamba-studio"));
    } else {
        m_settings = std::make_unique<QSettings>(iniFile, QSettings::IniFormat);
    }
    m_dataDir = dataDir;
    if (m_dataDir.isEmpty()) {
        // core's default, shared with the CLI (not Qt's per-application folder, where runs
        // started headless would never show).
        m_dataDir = QString::fromStdString(mts::defaultDataDir().string());
        m_findOldRuns = true;
    }
}

QStringList AppSettings::runsFolders() const {
    QStringList out{runsFolder()};
    if (m_findOldRuns) {
        for (const auto& dir : mts::legacyRunsDirs(runsFolder().toStdString())) out << QString::fromStdString(dir.string());
    }
    return out;
}

QString AppSettings::runsFolder() const {
    return m_settings->value(QStringLiteral("paths/runs"), m_dataDir + QStringLiteral("/runs")).toString();
}

void AppSettings::setRunsFolder(const QString& dir) { m_settings->setValue(QStringLiteral("paths/runs"), dir); }

QString AppSettings::datasetsFolder() const { return m_dataDir + QStringLiteral("/datasets"); }

QStringList AppSettings::datasets() const {
    return m_settings->value(QStringLiteral("datasets/list")).toStringList();
}

void AppSettings::setDatasets(const QStringList& dirs) {
    m_settings->setValue(QStringLiteral("datasets/list"), dirs);
}

QString AppSettings::lastDataset() const {
    return m_settings->value(QStringLiteral("datasets/last")).toString();
}

void AppSettings::setLastDataset(const QString& dir) {
    m_settings->setValue(QStringLiteral("datasets/last"), dir);
}

QVariant AppSettings::value(const QString& key, const QVariant& fallback) const {
    return m_settings->value(key, fallback);
}

void AppSettings::setValue(const QString& key, const QVariant& value) { m_settings->setValue(key, value); }

}  // namespace mts::ui
