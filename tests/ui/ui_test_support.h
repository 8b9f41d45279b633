#pragma once
// Shared helpers of the UI tests: one QApplication for the process (offscreen platform unless the
// environment picks another), isolated settings/data folders, and event-loop waiting.
#include <chrono>
#include <functional>

#include <QApplication>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QString>
#include <QTest>

#include "shared_data.h"

namespace mts::test {

/// The process-wide QApplication, created on first use.
inline QApplication& uiApp() {
    static int argc = 1;
    static char name[] = "mts_ui_tests";
    static char* argv[] = {name, nullptr};
    if (qgetenv("QT_QPA_PLATFORM").isEmpty()) qputenv("QT_QPA_PLATFORM", "offscreen");
    static QApplication* app = new QApplication(argc, argv);
    return *app;
}

/// Processes events until pred() is true or timeoutMs passes; returns pred().
inline bool waitUntil(const std::function<bool()>& pred, int timeoutMs) {
    QElapsedTimer timer;
    timer.start();
    while (!pred()) {
        if (timer.elapsed() > timeoutMs) return pred();
        QTest::qWait(5);  // processes events and sleeps: no busy spin competing with the workers
    }
    return true;
}

inline QString qpath(const std::filesystem::path& p) { return QString::fromStdString(p.string()); }

}  // namespace mts::test
