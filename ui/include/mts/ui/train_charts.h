#pragma once
// TrainCharts: the Train page's four live QCustomPlot charts — loss (raw, smoothed, validation),
// learning rate, gradient norm, tokens/s — with a steps/tokens x axis, mouse zoom and pan
// (double-click fits again). Keeps the full history so the x axis can be switched.
// GUI thread only; fed with drained SeriesBuffer batches (see live_series.h).
#include <vector>

#include <QVector>
#include <QWidget>

#include "mts/ui/live_series.h"

class QCustomPlot;
class QCPGraph;

namespace mts::ui {

class TrainCharts : public QWidget {
    Q_OBJECT
public:
    explicit TrainCharts(QWidget* parent = nullptr);

    /// Appends one drained batch (indexed by TrainSeries) and replots once.
    void append(const std::vector<std::vector<MetricPoint>>& batch);
    void clear();
    /// true: x = tokens seen; false: x = optimizer steps.
    void setTokensAxis(bool tokens);
    bool tokensAxis() const { return m_tokensAxis; }

    QCustomPlot* lossPlot() const { return m_loss; }
    int lossPointCount() const { return m_history.empty() ? 0 : int(m_history[0].size()); }
    int valPointCount() const;
    /// Number of replots done so far (coalescing is visible in tests).
    int replotCount() const { return m_replots; }

protected:
    void changeEvent(QEvent* event) override;

private:
    QCustomPlot* makePlot(const QString& yLabel);
    void rebuild();
    void replotAll();
    double x(const MetricPoint& p) const { return m_tokensAxis ? p.tokens : p.step; }

    QCustomPlot* m_loss;
    QCustomPlot* m_lr;
    QCustomPlot* m_grad;
    QCustomPlot* m_speed;
    QCPGraph* m_lossRaw;
    QCPGraph* m_lossSmooth;
    QCPGraph* m_valLoss;
    std::vector<QVector<MetricPoint>> m_history;
    double m_ema = 0;
    double m_emaWeight = 0;
    bool m_tokensAxis = false;
    int m_replots = 0;
};

}  // namespace mts::ui
