#include "mts/ui/runs_page.h"

#include <QLabel>
#include <QVBoxLayout>

#include "mts/ui/app_settings.h"

namespace mts::ui {

RunsPage::RunsPage(AppSettings& settings, QWidget* parent) : QWidget(parent), m_settings(settings) {
    setObjectName(QStringLiteral("runsPage"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(QStringLiteral("RunsPage"), this));
}

RunsPage::~RunsPage() = default;

}  // namespace mts::ui
