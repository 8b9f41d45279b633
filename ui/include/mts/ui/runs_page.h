#pragma once
// RunsPage: see main_window.h for the page structure. GUI thread only.
#include <QWidget>

namespace mts::ui {

class AppSettings;

class RunsPage : public QWidget {
    Q_OBJECT
public:
    explicit RunsPage(AppSettings& settings, QWidget* parent = nullptr);
    ~RunsPage() override;

private:
    AppSettings& m_settings;
};

}  // namespace mts::ui
