#pragma once
// JobThread: RAII owner of the one worker thread an adapter runs engine jobs on, plus the
// boundary that turns exceptions into a message a person can act on.
//
// Threading: start()/join()/running() are called from the GUI thread. The destructor joins, so
// an adapter that owns a JobThread must make its job stop first (set its cancel flag) — a
// destroyed adapter never leaves a thread behind touching freed memory.
#include <atomic>
#include <exception>
#include <functional>
#include <string>
#include <thread>

#include <QString>

namespace mts::ui {

class JobThread {
public:
    JobThread() = default;
    ~JobThread() { join(); }
    JobThread(const JobThread&) = delete;
    JobThread& operator=(const JobThread&) = delete;

    /// Runs fn on a new thread. A previous job must have finished (it is joined first).
    void start(std::function<void()> fn) {
        join();
        m_running = true;
        m_thread = std::thread([this, fn = std::move(fn)] {
            fn();
            m_running = false;
        });
    }
    /// True from start() until the job function returned.
    bool running() const { return m_running.load(); }
    /// Waits for the job (no-op when none).
    void join() {
        if (m_thread.joinable()) m_thread.join();
    }

private:
    std::thread m_thread;
    std::atomic<bool> m_running{false};
};

/// A one-paragraph message for an engine failure: the first line of what() (LibTorch appends
/// long backtraces) plus what to do for the known cases (out of memory, disk full, non-finite
/// loss, corrupt corpus or checkpoint).
QString actionableError(const std::string& what);

/// Calls fn; any exception becomes onError(actionableError(what)). Used at every job boundary.
void runGuarded(const std::function<void()>& fn, const std::function<void(const QString&)>& onError);

}  // namespace mts::ui
