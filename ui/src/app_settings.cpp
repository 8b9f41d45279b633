#include "mts/ui/app_settings.h"

#include <QDir>
#include <QStandardPaths>

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
        m_dataDir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
        if (m_dataDir.isEmpty()) m_dataDir = QDir::homePath() + QStringLiteral("/.mamba-studio");
    }
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
