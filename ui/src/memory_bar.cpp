#include "mts/ui/memory_bar.h"

#include <algorithm>

#include <QPainter>

#include "mts/ui/theme.h"

namespace mts::ui {

namespace {
const QColor kOver(0xd6, 0x2d, 0x2d);
}

MemoryBar::MemoryBar(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("memoryBar"));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void MemoryBar::setEstimate(const QVector<Part>& parts, double budgetBytes) {
    m_parts = parts;
    m_budget = budgetBytes;
    QString tip = QStringLiteral("Estimated peak memory of one training step:\n");
    for (const Part& p : parts) tip += QStringLiteral("  %1: %2\n").arg(p.name, formatBytes(p.bytes));
    tip += QStringLiteral("Total %1 of %2 available").arg(formatBytes(totalBytes()), formatBytes(budgetBytes));
    setToolTip(tip);
    update();
}

void MemoryBar::clear() {
    m_parts.clear();
    m_budget = 0;
    update();
}

double MemoryBar::totalBytes() const {
    double t = 0;
    for (const Part& p : m_parts) t += p.bytes;
    return t;
}

QColor MemoryBar::stateColor() const { return overBudget() ? kOver : seriesColor(2, palette()); }

void MemoryBar::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QPalette pal = palette();
    const QRectF bar(1, 1, width() - 2, 20);
    painter.setPen(Qt::NoPen);
    painter.setBrush(pal.color(QPalette::AlternateBase));
    painter.drawRoundedRect(bar, 4, 4);
    const double total = totalBytes();
    const double scale = std::max(total, m_budget);
    if (scale > 0) {
        double x = bar.left();
        for (int i = 0; i < m_parts.size(); ++i) {
            const double w = bar.width() * m_parts[i].bytes / scale;
            QColor c = overBudget() ? kOver : seriesColor(i, pal);
            if (overBudget()) c = c.lighter(100 + 12 * i);
            painter.setBrush(c);
            painter.drawRect(QRectF(x, bar.top(), w, bar.height()));
            x += w;
        }
        if (m_budget > 0) {
            const double bx = bar.left() + bar.width() * m_budget / scale;
            painter.setPen(QPen(pal.color(QPalette::Text), 2, Qt::DashLine));
            painter.drawLine(QPointF(bx, bar.top() - 1), QPointF(bx, bar.bottom() + 1));
        }
    }
    painter.setPen(QPen(overBudget() ? kOver : pal.color(QPalette::Mid), overBudget() ? 2 : 1));
    painter.setBrush(Qt::NoBrush);
    painter.drawRoundedRect(bar, 4, 4);
    painter.setPen(overBudget() ? kOver : pal.color(QPalette::Text));
    QString caption = m_parts.isEmpty()
                          ? QStringLiteral("no estimate")
                          : QStringLiteral("%1 of %2%3").arg(formatBytes(total), formatBytes(m_budget),
                                                             overBudget() ? QStringLiteral(" — will not fit") : QString());
    painter.drawText(QRectF(0, 23, width(), height() - 23), Qt::AlignLeft | Qt::AlignVCenter, caption);
}

}  // namespace mts::ui
