#include "mts/ui/generate_page.h"

#include <QLabel>
#include <QVBoxLayout>

#include "mts/ui/app_settings.h"

namespace mts::ui {

GeneratePage::GeneratePage(AppSettings& settings, QWidget* parent) : QWidget(parent), m_settings(settings) {
    setObjectName(QStringLiteral("generatePage"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(QStringLiteral("GeneratePage"), this));
}

GeneratePage::~GeneratePage() = default;

}  // namespace mts::ui
