#pragma once
// DatasetPage: see main_window.h for the page structure. GUI thread only.
#include <QWidget>

namespace mts::ui {

class AppSettings;

class DatasetPage : public QWidget {
    Q_OBJECT
public:
    explicit DatasetPage(AppSettings& settings, QWidget* parent = nullptr);
    ~DatasetPage() override;

private:
    AppSettings& m_settings;
};

}  // namespace mts::ui
