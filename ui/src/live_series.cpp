#include "mts/ui/live_series.h"

#include <QMetaObject>
#include <QTimer>

namespace mts::ui {

void SeriesBuffer::append(int series, const MetricPoint& point) {
    if (series < 0 || series >= m_seriesCount) return;
    std::lock_guard<std::mutex> lock(m_mutex);
    m_pending[size_t(series)].push_back(point);
}

std::vector<std::vector<MetricPoint>> SeriesBuffer::drain() {
    std::vector<std::vector<MetricPoint>> out(static_cast<size_t>(m_seriesCount));
    std::lock_guard<std::mutex> lock(m_mutex);
    out.swap(m_pending);
    return out;
}

ReplotCoalescer::ReplotCoalescer(int intervalMs, QObject* parent) : QObject(parent), m_timer(new QTimer(this)) {
    m_timer->setSingleShot(true);
    m_timer->setInterval(intervalMs);
    connect(m_timer, &QTimer::timeout, this, &ReplotCoalescer::fire);
}

void ReplotCoalescer::request() {
    // Only the first request after a fire() posts an event, so a fast worker cannot flood the queue.
    if (m_scheduled.exchange(true)) return;
    QMetaObject::invokeMethod(this, [this] { m_timer->start(); }, Qt::QueuedConnection);
}

void ReplotCoalescer::fire() {
    m_scheduled = false;
    Q_EMIT ready();
}

}  // namespace mts::ui
