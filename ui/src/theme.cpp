#include "mts/ui/theme.h"

#include <QApplication>
#include <QFile>
#include <QString>

#include <qcustomplot.h>

namespace mts::ui {

void applyStudioStyle() {
    QFile file(QStringLiteral(":/style/studio.qss"));
    if (file.open(QIODevice::ReadOnly)) qApp->setStyleSheet(QString::fromUtf8(file.readAll()));
}

bool isDarkPalette(const QPalette& palette) {
    return palette.color(QPalette::Window).lightness() < palette.color(QPalette::WindowText).lightness();
}

QColor seriesColor(int i, const QPalette& palette) {
    // Two hand-picked sets with enough contrast on a light and a dark background.
    static const char* kLight[] = {"#1f6fd1", "#d1491f", "#2a9d3a", "#8a3ac7", "#c79a1a", "#1aa6a6"};
    static const char* kDark[] = {"#6cb0ff", "#ff8a5c", "#6fdc7c", "#c591ff", "#ffd35c", "#5ce0e0"};
    const int n = 6;
    const int k = ((i % n) + n) % n;
    return QColor(QString::fromLatin1(isDarkPalette(palette) ? kDark[k] : kLight[k]));
}

void stylePlot(QCustomPlot* plot, const QPalette& palette) {
    const QColor bg = palette.color(QPalette::Base);
    const QColor fg = palette.color(QPalette::Text);
    QColor grid = fg;
    grid.setAlpha(40);
    plot->setBackground(bg);
    for (QCPAxis* axis : plot->axisRect()->axes()) {
        axis->setBasePen(QPen(fg));
        axis->setTickPen(QPen(fg));
        axis->setSubTickPen(QPen(fg));
        axis->setTickLabelColor(fg);
        axis->setLabelColor(fg);
        axis->grid()->setPen(QPen(grid, 1, Qt::DotLine));
    }
    plot->legend->setBrush(QBrush(bg));
    plot->legend->setTextColor(fg);
    plot->legend->setBorderPen(QPen(grid));
    for (int i = 0; i < plot->plotLayout()->elementCount(); ++i) {
        if (auto* title = qobject_cast<QCPTextElement*>(plot->plotLayout()->elementAt(i))) title->setTextColor(fg);
    }
}

QString formatBytes(double bytes) {
    static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) {
        bytes /= 1024.0;
        ++u;
    }
    return u == 0 ? QStringLiteral("%1 B").arg(qint64(bytes))
                  : QStringLiteral("%1 %2").arg(bytes, 0, 'f', bytes < 10 ? 2 : 1).arg(QLatin1String(kUnits[u]));
}

}  // namespace mts::ui
