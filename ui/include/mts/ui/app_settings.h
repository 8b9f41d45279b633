#pragma once
// AppSettings: the studio's persistent settings (QSettings) with their defaults in one place.
//
// Keys: window geometry/state, runs folder, data folder (datasets), the dataset list, the last
// dataset and presets chosen. GUI thread only (QSettings is reentrant, not shared).
#include <memory>

#include <QByteArray>
#include <QSettings>
#include <QString>
#include <QStringList>
#include <QVariant>

namespace mts::ui {

class AppSettings {
public:
    /// iniFile empty: the platform's native settings for "MambaStudio/mamba-studio".
    /// iniFile given (tests): an INI file at that path, so tests never touch the user's settings.
    /// dataDir empty: core's mts::defaultDataDir() ($XDG_DATA_HOME/mamba-studio, the CLI's too),
    /// and runs left in older locations are offered (runsFolders()); given: that folder only (tests).
    explicit AppSettings(const QString& iniFile = {}, const QString& dataDir = {});

    /// Root for datasets/ and runs/ unless overridden. Created on demand by callers.
    QString dataDir() const { return m_dataDir; }

    /// Where runs are written and listed. Default: <dataDir>/runs.
    QString runsFolder() const;
    void setRunsFolder(const QString& dir);
    /// runsFolder() first, then older runs folders that still hold runs (mts::legacyRunsDirs:
    /// the studio's old $XDG_DATA_HOME/MambaStudio/mamba-studio/runs, ...), so the Runs and
    /// Generate pages list those runs too. Only runsFolder() with an explicit dataDir.
    QStringList runsFolders() const;

    /// Where built corpora go. Default: <dataDir>/datasets.
    QString datasetsFolder() const;

    /// Corpus folders the dataset list shows, in order (persisted across launches).
    QStringList datasets() const;
    void setDatasets(const QStringList& dirs);

    QString lastDataset() const;
    void setLastDataset(const QString& dir);

    /// Generic accessors for page-local choices (last presets, sampling options, ...).
    QVariant value(const QString& key, const QVariant& fallback = {}) const;
    void setValue(const QString& key, const QVariant& value);

    QSettings& raw() { return *m_settings; }

private:
    std::unique_ptr<QSettings> m_settings;
    QString m_dataDir;
    bool m_findOldRuns = false;
};

}  // namespace mts::ui
