#include "mts/ui/train_charts.h"

#include <QEvent>
#include <QGridLayout>

#include <qcustomplot.h>

#include "mts/ui/theme.h"
#include "mts/ui/training_controller.h"

namespace mts::ui {

namespace {
constexpr double kSmoothing = 0.9;  // EMA decay of the smoothed loss (bias-corrected)
}

TrainCharts::TrainCharts(QWidget* parent) : QWidget(parent), m_history(kSeriesCount) {
    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(0, 0, 0, 0);
    m_loss = makePlot(QStringLiteral("loss (nats/token)"));
    m_loss->setObjectName(QStringLiteral("lossPlot"));
    m_lr = makePlot(QStringLiteral("learning rate"));
    m_lr->setObjectName(QStringLiteral("lrPlot"));
    m_grad = makePlot(QStringLiteral("gradient norm"));
    m_grad->setObjectName(QStringLiteral("gradPlot"));
    m_speed = makePlot(QStringLiteral("tokens/s"));
    m_speed->setObjectName(QStringLiteral("speedPlot"));
    m_lossRaw = m_loss->addGraph();
    m_lossRaw->setName(QStringLiteral("train"));
    m_lossSmooth = m_loss->addGraph();
    m_lossSmooth->setName(QStringLiteral("train (smoothed)"));
    m_valLoss = m_loss->addGraph();
    m_valLoss->setName(QStringLiteral("validation"));
    m_valLoss->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
    m_loss->legend->setVisible(true);
    m_loss->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    m_lr->addGraph();
    m_grad->addGraph();
    m_speed->addGraph();
    grid->addWidget(m_loss, 0, 0, 1, 2);
    grid->addWidget(m_lr, 1, 0);
    grid->addWidget(m_grad, 1, 1);
    grid->addWidget(m_speed, 2, 0, 1, 2);
    grid->setRowStretch(0, 3);
    grid->setRowStretch(1, 2);
    grid->setRowStretch(2, 2);
    changeEvent(nullptr);
}

QCustomPlot* TrainCharts::makePlot(const QString& yLabel) {
    auto* plot = new QCustomPlot(this);
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot->yAxis->setLabel(yLabel);
    plot->xAxis->setLabel(QStringLiteral("step"));
    plot->setMinimumHeight(120);
    plot->setToolTip(QStringLiteral("Drag to pan, wheel to zoom, double-click to fit"));
    plot->setProperty("follow", true);
    connect(plot, &QCustomPlot::mouseWheel, plot, [plot](QWheelEvent*) { plot->setProperty("follow", false); });
    connect(plot, &QCustomPlot::mouseMove, plot, [plot](QMouseEvent* e) {
        if (e->buttons() & Qt::LeftButton) plot->setProperty("follow", false);
    });
    connect(plot, &QCustomPlot::mouseDoubleClick, plot, [plot](QMouseEvent*) {
        plot->setProperty("follow", true);
        plot->rescaleAxes();
        plot->replot();
    });
    return plot;
}

void TrainCharts::changeEvent(QEvent* event) {
    if (!event || event->type() == QEvent::PaletteChange || event->type() == QEvent::ApplicationPaletteChange) {
        const QPalette pal = palette();
        for (QCustomPlot* p : {m_loss, m_lr, m_grad, m_speed}) stylePlot(p, pal);
        QColor raw = seriesColor(0, pal);
        raw.setAlpha(90);
        m_lossRaw->setPen(QPen(raw, 1));
        m_lossSmooth->setPen(QPen(seriesColor(0, pal), 2));
        m_valLoss->setPen(QPen(seriesColor(1, pal), 2));
        m_lr->graph(0)->setPen(QPen(seriesColor(2, pal), 2));
        m_grad->graph(0)->setPen(QPen(seriesColor(3, pal), 1));
        m_speed->graph(0)->setPen(QPen(seriesColor(4, pal), 1));
        if (event) replotAll();
    }
    if (event) QWidget::changeEvent(event);
}

int TrainCharts::valPointCount() const { return int(m_history[kSeriesValLoss].size()); }

void TrainCharts::append(const std::vector<std::vector<MetricPoint>>& batch) {
    bool any = false;
    for (size_t s = 0; s < batch.size() && s < m_history.size(); ++s) {
        for (const MetricPoint& p : batch[s]) {
            m_history[s].push_back(p);
            any = true;
            switch (s) {
                case kSeriesLoss:
                    m_lossRaw->addData(x(p), p.value);
                    m_ema = kSmoothing * m_ema + (1 - kSmoothing) * p.value;
                    m_emaWeight = kSmoothing * m_emaWeight + (1 - kSmoothing);
                    m_lossSmooth->addData(x(p), m_ema / m_emaWeight);
                    break;
                case kSeriesValLoss: m_valLoss->addData(x(p), p.value); break;
                case kSeriesLr: m_lr->graph(0)->addData(x(p), p.value); break;
                case kSeriesGradNorm: m_grad->graph(0)->addData(x(p), p.value); break;
                case kSeriesTokensPerSec: m_speed->graph(0)->addData(x(p), p.value); break;
                default: break;
            }
        }
    }
    if (any) replotAll();
}

void TrainCharts::clear() {
    for (auto& h : m_history) h.clear();
    m_ema = m_emaWeight = 0;
    rebuild();
}

void TrainCharts::setTokensAxis(bool tokens) {
    if (m_tokensAxis == tokens) return;
    m_tokensAxis = tokens;
    rebuild();
}

void TrainCharts::rebuild() {
    for (QCustomPlot* p : {m_loss, m_lr, m_grad, m_speed}) {
        for (int i = 0; i < p->graphCount(); ++i) p->graph(i)->data()->clear();
        p->xAxis->setLabel(m_tokensAxis ? QStringLiteral("tokens") : QStringLiteral("step"));
    }
    auto history = std::move(m_history);
    m_history.assign(kSeriesCount, {});
    m_ema = m_emaWeight = 0;
    std::vector<std::vector<MetricPoint>> batch(history.size());
    for (size_t s = 0; s < history.size(); ++s) batch[s].assign(history[s].begin(), history[s].end());
    append(batch);
    replotAll();
}

void TrainCharts::replotAll() {
    for (QCustomPlot* p : {m_loss, m_lr, m_grad, m_speed}) {
        // Follow the data unless the user has zoomed or panned (then double-click fits again).
        if (p->property("follow").toBool()) p->rescaleAxes();
        p->replot(QCustomPlot::rpQueuedReplot);
    }
    ++m_replots;
}

}  // namespace mts::ui
