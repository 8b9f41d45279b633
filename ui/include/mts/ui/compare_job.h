#pragma once
// CompareJob: runs a comparison suite (core/train/compare_suite.h) on a worker thread for the
// studio, with PNG plots rendered by QtGui beside the SVGs. Signals arrive on the receiver's
// thread (queued). GUI thread: start(), cancel(), isRunning(); the destructor cancels and
// joins (the current run saves a checkpoint; the same suite resumes later).
#include <mutex>

#include <QObject>
#include <QString>

#include "mts/core/train/compare_suite.h"
#include "mts/ui/job_thread.h"

namespace mts::ui {

class CompareJob : public QObject {
    Q_OBJECT
public:
    explicit CompareJob(QObject* parent = nullptr);
    ~CompareJob() override;

    /// Starts the suite; false (and nothing starts) while one runs. The worker first composes
    /// `config`'s shapes and training settings from `choice` (composeCompareConfig: it reads the
    /// data's size, which the GUI thread must not wait for) and logs the training preset.
    bool start(CompareConfig config, CompareChoice choice = {});
    void cancel();
    bool isRunning() const { return m_thread.running(); }

Q_SIGNALS:
    void progress(const QString& line);  // log lines and a line per 20 steps
    /// The suite ended: report.md's text (empty when it failed before writing it).
    void finished(bool ok, const QString& message, const QString& reportDir, const QString& reportMarkdown);

private:
    JobThread m_thread;
    std::mutex m_mutex;
    CompareSuite* m_suite = nullptr;  // the suite in progress (guarded by m_mutex)
    bool m_cancel = false;
};

}  // namespace mts::ui
