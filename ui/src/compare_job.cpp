#include "mts/ui/compare_job.h"

#include <fstream>
#include <sstream>

#include "mts/core/train/presets.h"
#include "mts/ui/plot_png.h"

namespace mts::ui {

CompareJob::CompareJob(QObject* parent) : QObject(parent) {}

CompareJob::~CompareJob() {
    cancel();
    m_thread.join();
}

void CompareJob::cancel() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_cancel = true;
    if (m_suite) m_suite->cancel();
}

bool CompareJob::start(CompareConfig config, CompareChoice choice) {
    if (m_thread.running()) return false;
    m_thread.join();
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_cancel = false;
    }
    config.renderPng = [](const LinePlot& plot, const std::filesystem::path& file) { writePlotPng(plot, file); };
    m_thread.start([this, config = std::move(config), choice = std::move(choice)]() mutable {
        runGuarded(
            [&] {
                const std::string preset = composeCompareConfig(config, PresetCatalog::load(), choice);
                Q_EMIT progress(QStringLiteral("training preset: %1, precision %2")
                                    .arg(QString::fromStdString(preset), QString::fromStdString(toString(config.train.precision))));
                CompareCallbacks cb;
                cb.onLog = [this](const std::string& line) { Q_EMIT progress(QString::fromStdString(line)); };
                cb.onProgress = [this](const CompareProgress& p) {
                    if (p.train.step % 20 != 0) return;
                    Q_EMIT progress(QStringLiteral("[%1/%2] %3: step %4, loss %5")
                                        .arg(p.index + 1)
                                        .arg(p.count)
                                        .arg(QString::fromStdString(p.arch))
                                        .arg(p.train.step)
                                        .arg(p.train.loss, 0, 'f', 4));
                };
                CompareSuite suite(config, cb);
                {
                    std::lock_guard<std::mutex> lock(m_mutex);
                    m_suite = &suite;
                    if (m_cancel) suite.cancel();
                }
                const CompareResult r = suite.run();
                {
                    std::lock_guard<std::mutex> lock(m_mutex);
                    m_suite = nullptr;
                }
                std::ifstream in(r.report);
                std::stringstream md;
                md << in.rdbuf();
                Q_EMIT finished(r.ok, QString::fromStdString(r.message), QString::fromStdString(config.outDir.string()),
                                QString::fromStdString(md.str()));
            },
            [this](const QString& error) { Q_EMIT finished(false, error, QString(), QString()); });
    });
    return true;
}

}  // namespace mts::ui
