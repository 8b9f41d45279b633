#pragma once
// GeneratePage: see main_window.h for the page structure. GUI thread only.
#include <QWidget>

namespace mts::ui {

class AppSettings;

class GeneratePage : public QWidget {
    Q_OBJECT
public:
    explicit GeneratePage(AppSettings& settings, QWidget* parent = nullptr);
    ~GeneratePage() override;

private:
    AppSettings& m_settings;
};

}  // namespace mts::ui
