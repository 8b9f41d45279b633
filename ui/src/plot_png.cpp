#include "mts/ui/plot_png.h"

#include <cmath>

#include <QColor>
#include <QPainter>
#include <QPolygonF>

#include "mts/core/runtime/errors.h"

namespace mts::ui {

QImage renderPlotImage(const LinePlot& plot, int width, int height) {
    QImage image(width, height, QImage::Format_ARGB32);
    image.fill(Qt::white);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing);
    const double left = 70, right = 160, top = 36, bottom = 52;
    const double pw = width - left - right, ph = height - top - bottom;
    const auto r = plotRange(plot);
    auto px = [&](double x) { return left + (x - r[0]) / (r[1] - r[0]) * pw; };
    auto py = [&](double y) { return top + ph - (y - r[2]) / (r[3] - r[2]) * ph; };
    p.setPen(QColor(0x33, 0x33, 0x33));
    p.drawRect(QRectF(left, top, pw, ph));
    p.drawText(QRectF(left, 4, pw, 26), Qt::AlignCenter, QString::fromStdString(plot.title));
    p.drawText(QRectF(left, height - 28, pw, 20), Qt::AlignCenter, QString::fromStdString(plot.xLabel));
    p.save();
    p.translate(16, top + ph / 2);
    p.rotate(-90);
    p.drawText(QRectF(-ph / 2, -10, ph, 20), Qt::AlignCenter, QString::fromStdString(plot.yLabel));
    p.restore();
    for (int i = 0; i <= 4; ++i) {  // y ticks: five even steps
        const double v = r[2] + (r[3] - r[2]) * i / 4.0;
        p.drawText(QRectF(0, py(v) - 8, left - 6, 16), Qt::AlignRight | Qt::AlignVCenter, QString::number(v, 'g', 4));
    }
    for (int i = 0; i <= 4; ++i) {  // x ticks
        const double v = r[0] + (r[1] - r[0]) * i / 4.0;
        const QString label = plot.logX ? QStringLiteral("1e%1").arg(v, 0, 'f', 1) : QString::number(v, 'g', 4);
        p.drawText(QRectF(px(v) - 40, top + ph + 2, 80, 16), Qt::AlignCenter, label);
    }
    for (size_t i = 0; i < plot.series.size(); ++i) {
        QPolygonF line;
        for (const auto& [x, y] : plot.series[i].points) {
            if (!std::isfinite(x) || !std::isfinite(y) || (plot.logX && x <= 0)) continue;
            line << QPointF(px(plot.logX ? std::log10(x) : x), py(y));
        }
        const QColor color(QString::fromStdString(plotColor(i)));
        p.setPen(QPen(color, 2));
        p.drawPolyline(line);
        const double ly = top + 14 + 20 * static_cast<double>(i);
        p.setPen(QPen(color, 3));
        p.drawLine(QPointF(left + pw + 12, ly), QPointF(left + pw + 34, ly));
        p.setPen(Qt::black);
        p.drawText(QPointF(left + pw + 40, ly + 4), QString::fromStdString(plot.series[i].name));
    }
    p.end();
    return image;
}

void writePlotPng(const LinePlot& plot, const std::filesystem::path& file) {
    if (!renderPlotImage(plot).save(QString::fromStdString(file.string()), "PNG"))
        throw FormatError(file.string(), "cannot write the PNG plot");
}

}  // namespace mts::ui
