#include "mts/ui/train_page.h"

#include <QLabel>
#include <QVBoxLayout>

#include "mts/ui/app_settings.h"

namespace mts::ui {

TrainPage::TrainPage(AppSettings& settings, QWidget* parent) : QWidget(parent), m_settings(settings) {
    setObjectName(QStringLiteral("trainPage"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(QStringLiteral("TrainPage"), this));
}

TrainPage::~TrainPage() = default;

bool TrainPage::isTraining() const { return false; }

void TrainPage::stopAndWait() {}

}  // namespace mts::ui
