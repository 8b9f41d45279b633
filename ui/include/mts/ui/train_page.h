#pragma once
// TrainPage: see main_window.h for the page structure. GUI thread only.
#include <QWidget>

namespace mts::ui {

class AppSettings;

class TrainPage : public QWidget {
    Q_OBJECT
public:
    explicit TrainPage(AppSettings& settings, QWidget* parent = nullptr);
    ~TrainPage() override;

    /// True while a training run is active (running or paused).
    bool isTraining() const;
    /// Stops the active run, waits until its final checkpoint is saved. No-op when idle.
    void stopAndWait();

private:
    AppSettings& m_settings;
};

}  // namespace mts::ui
