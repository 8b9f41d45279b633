#pragma once
// MainWindow: the studio's single window. A side navigation list switches a QStackedWidget
// between the Dataset, Train, Generate and Runs pages; the status bar shows device, threads,
// BLAS and resident memory. Geometry and the current page persist through AppSettings.
// GUI thread only. Closing while a training run is active asks, then stops it (which saves a
// checkpoint). Closing never blocks the GUI thread on engine work: while a run winds down, a
// model or checkpoint loads, or an ingest (PDF extraction) ends, the window hides at once, every
// job is asked to stop, and the window closes for real when the workers are done.
#include <functional>
#include <memory>

#include <QMainWindow>

class QLabel;
class QListWidget;
class QStackedWidget;
class QTimer;

namespace mts::ui {

class AppSettings;
class DatasetPage;
class TrainPage;
class GeneratePage;
class RunsPage;

enum class Page { Dataset = 0, Train = 1, Generate = 2, Runs = 3 };

struct StudioOptions {
    QString settingsFile;       // empty: the user's native settings; tests pass an INI path
    QString dataDir;            // empty: mts::defaultDataDir(), shared with the CLI
    bool sampleDataset = true;  // build the bundled sample dataset on first launch
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(const StudioOptions& options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    void showPage(Page page);
    Page currentPage() const;

    DatasetPage* datasetPage() const { return m_datasetPage; }
    TrainPage* trainPage() const { return m_trainPage; }
    GeneratePage* generatePage() const { return m_generatePage; }
    RunsPage* runsPage() const { return m_runsPage; }
    AppSettings& settings() const { return *m_settings; }

    /// Replaces the "training is running, quit?" dialog (tests answer it without a modal loop).
    /// The function returns true to stop training, save and close; false to stay open.
    void setCloseConfirmation(std::function<bool()> ask) { m_askClose = std::move(ask); }

    /// True after a close that is waiting (window hidden) for workers to end.
    bool isClosing() const { return m_closing; }
    /// Whether a training run, an ingest or a model load/generation is running on a worker.
    bool engineBusy() const;

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildNavigation();
    void buildStatusBar();
    void buildActions();
    void refreshMemory();
    void restoreSettings();
    void saveSettings();

    std::unique_ptr<AppSettings> m_settings;
    QListWidget* m_nav = nullptr;
    QStackedWidget* m_stack = nullptr;
    DatasetPage* m_datasetPage = nullptr;
    TrainPage* m_trainPage = nullptr;
    GeneratePage* m_generatePage = nullptr;
    RunsPage* m_runsPage = nullptr;
    QLabel* m_deviceLabel = nullptr;
    QLabel* m_threadsLabel = nullptr;
    QLabel* m_blasLabel = nullptr;
    QLabel* m_memoryLabel = nullptr;
    QTimer* m_memoryTimer = nullptr;
    std::function<bool()> m_askClose;
    QTimer* m_closeWait = nullptr;  // polls the workers after a deferred close
    bool m_closing = false;
};

}  // namespace mts::ui
