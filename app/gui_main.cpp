// mamba-studio: the desktop studio. Composition root only: set up the engine runtime, the Qt
// application and the main window; everything else lives in ui/, core/ and ingest/.
#include <QApplication>
#include <QIcon>

#include "mts/core/kernels/scan_backend_name.h"
#include "mts/core/runtime/runtime.h"
#include "mts/ui/main_window.h"
#include "mts/ui/theme.h"

int main(int argc, char** argv) {
    mts::ensureThreadingEnvironment(argv);
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("MambaStudio"));
    QApplication::setApplicationName(QStringLiteral("mamba-studio"));
    QApplication::setApplicationDisplayName(QStringLiteral("Mamba Studio"));
    QApplication::setDesktopFileName(QStringLiteral("mamba-studio"));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/mamba-studio.svg")));

    mts::RuntimeOptions runtimeOptions;
    runtimeOptions.describeScanBackend = mts::describeDefaultScanBackend;
    mts::initRuntime(runtimeOptions);
    mts::ui::applyStudioStyle();

    mts::ui::MainWindow window;
    window.show();
    return QApplication::exec();
}
