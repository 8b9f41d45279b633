#include "mts/ui/dataset_page.h"

#include <QLabel>
#include <QVBoxLayout>

#include "mts/ui/app_settings.h"

namespace mts::ui {

DatasetPage::DatasetPage(AppSettings& settings, QWidget* parent) : QWidget(parent), m_settings(settings) {
    setObjectName(QStringLiteral("datasetPage"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(QStringLiteral("DatasetPage"), this));
}

DatasetPage::~DatasetPage() = default;

}  // namespace mts::ui
