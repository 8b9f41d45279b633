#pragma once
// RunsPage: every run in the runs folder (status, architecture, parameters, tokens, best
// validation loss, wall time). Select several to overlay their curves by steps, tokens or
// estimated training FLOPs (6·N·T: the Mamba vs Transformer loss-vs-compute comparison), see
// the differences of their configs, and export the plot (PNG, SVG, PDF) or the metrics (CSV).
// GUI thread only; run folders are read with run_store.h.
#include <QVector>
#include <QWidget>

#include "mts/ui/run_store.h"

class QComboBox;
class QCustomPlot;
class QLabel;
class QTableWidget;

namespace mts::ui {

class AppSettings;

class RunsPage : public QWidget {
    Q_OBJECT
public:
    explicit RunsPage(AppSettings& settings, QWidget* parent = nullptr);
    ~RunsPage() override;

    /// Re-reads the runs folder (keeps the selection by name).
    void refresh();
    /// Selects runs by folder name (for tests and for "show this run").
    void selectRuns(const QStringList& names);
    int runCount() const;
    /// Curves currently drawn on the overlay plot (train + validation per run).
    int overlayGraphCount() const;
    /// Writes the overlay plot; the format follows the suffix (.png, .svg, .pdf). False on failure.
    bool exportPlot(const QString& file);
    /// Writes the selected runs' metrics as CSV (run, type, step, tokens, flops, metric, value).
    bool exportCsv(const QString& file);

protected:
    void showEvent(QShowEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void onSelectionChanged();
    void redrawOverlay();
    void updateDiff();
    QStringList selectedDirs() const;

    AppSettings& m_settings;
    QLabel* m_folderLabel;
    QTableWidget* m_table;
    QComboBox* m_xAxis;
    QComboBox* m_metric;
    QCustomPlot* m_plot;
    QTableWidget* m_diff;
    QVector<RunSummary> m_runs;
};

}  // namespace mts::ui
