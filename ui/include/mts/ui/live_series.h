#pragma once
// Live plot plumbing (the house rule for streamed curves):
//   - the worker appends points to a SeriesBuffer under a short lock and calls
//     ReplotCoalescer::request() — cheap, callable from any thread, at any rate;
//   - the coalescer fires ready() on the GUI thread at most once per interval (~40 ms, so at
//     most ~25 replots a second), and the GUI drains the buffer (a swap under the lock) and
//     replots without holding it.
#include <atomic>
#include <mutex>
#include <vector>

#include <QObject>

class QTimer;

namespace mts::ui {

/// One metric sample: the value at a step (and the tokens seen by then, for a tokens x-axis).
struct MetricPoint {
    double step = 0.0;
    double tokens = 0.0;
    double value = 0.0;
};

/// Thread-safe pending points per series (series are small integers chosen by the caller).
class SeriesBuffer {
public:
    explicit SeriesBuffer(int seriesCount) : m_seriesCount(seriesCount), m_pending(size_t(seriesCount)) {}
    /// Any thread. Ignores an out-of-range series.
    void append(int series, const MetricPoint& point);
    /// GUI thread: takes every pending point (per series, in append order) and empties the buffer.
    std::vector<std::vector<MetricPoint>> drain();
    int seriesCount() const { return m_seriesCount; }

private:
    // Fixed at construction: append() range-checks against it without the lock (m_pending's
    // own size is rewritten by drain()'s swap, under the lock).
    const int m_seriesCount;
    std::mutex m_mutex;
    std::vector<std::vector<MetricPoint>> m_pending;
};

class ReplotCoalescer : public QObject {
    Q_OBJECT
public:
    explicit ReplotCoalescer(int intervalMs = 40, QObject* parent = nullptr);
    /// Any thread: asks for one ready() within intervalMs. Many calls collapse into one.
    void request();

Q_SIGNALS:
    void ready();

private:
    void fire();
    QTimer* m_timer;
    std::atomic<bool> m_scheduled{false};
};

}  // namespace mts::ui
