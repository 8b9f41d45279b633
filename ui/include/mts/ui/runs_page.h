#pragma once
// RunsPage: every run in the runs folder (status, architecture, parameters, tokens, best
// validation loss, wall time). Select several to overlay their curves by steps, tokens or
// estimated training FLOPs (6·N·T: the Mamba vs Transformer loss-vs-compute comparison), see
// the differences of their configs, read the configuration a run really used (its config.json
// as the trainer wrote it), and export the plot (PNG, SVG, PDF) or the metrics (CSV).
// GUI thread only. Run folders are read through core (run_store.h); the runs folder is listed
// on a worker thread (a folder with hundreds of runs reads every metrics.jsonl), and the table
// is filled when the result arrives (refreshed()).
#include <atomic>

#include <QVector>
#include <QWidget>

#include "mts/ui/job_thread.h"
#include "mts/ui/run_store.h"

class QComboBox;
class QCustomPlot;
class QLabel;
class QLayout;
class QPlainTextEdit;
class QTableWidget;

namespace mts::ui {

class AppSettings;

class RunsPage : public QWidget {
    Q_OBJECT
public:
    explicit RunsPage(AppSettings& settings, QWidget* parent = nullptr);
    ~RunsPage() override;  // stops and joins the reader

    /// Re-reads the runs folder on a worker thread and returns at once; the table (and the
    /// selection, kept by folder) is updated when refreshed() is emitted. A refresh asked for
    /// while one runs is done right after it.
    void refresh();
    /// True from refresh() until the table shows the folder as it was read.
    bool isRefreshing() const { return m_loading; }
    /// Selects runs by folder name (for tests and for "show this run").
    void selectRuns(const QStringList& names);
    int runCount() const;
    /// Curves currently drawn on the overlay plot (train + validation per run).
    int overlayGraphCount() const;
    /// Writes the overlay plot; the format follows the suffix (.png, .svg, .pdf). False on failure.
    bool exportPlot(const QString& file);
    /// Writes the selected runs' metrics as CSV (run, type, step, tokens, flops, metric, value).
    bool exportCsv(const QString& file);
    /// The run whose configuration the Config tab shows (the current row when it is selected,
    /// else the first selected run); empty when none is selected.
    QString configRunDir() const;

Q_SIGNALS:
    /// The table now shows the runs folder as read by the last refresh().
    void refreshed();

protected:
    void showEvent(QShowEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    QLayout* buildHeader();
    QWidget* buildTable(QWidget* parent);
    QWidget* buildCurvesTab(QWidget* parent);
    QWidget* buildDiffTab(QWidget* parent);
    QWidget* buildConfigTab(QWidget* parent);
    void onSelectionChanged();
    void applyRuns(const QVector<RunSummary>& runs);
    void redrawOverlay();
    void updateDiff();
    void updateConfigView();
    QStringList selectedDirs() const;

    AppSettings& m_settings;
    QLabel* m_folderLabel;
    QTableWidget* m_table;
    QComboBox* m_xAxis;
    QComboBox* m_metric;
    QCustomPlot* m_plot;
    QTableWidget* m_diff;
    QLabel* m_configTitle;
    QPlainTextEdit* m_config;
    QVector<RunSummary> m_runs;
    JobThread m_loader;
    std::atomic<bool> m_stopLoading{false};
    bool m_loading = false;
    bool m_reloadWanted = false;
};

}  // namespace mts::ui
