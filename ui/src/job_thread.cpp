#include "mts/ui/job_thread.h"

#include <QStringList>

namespace mts::ui {

QString actionableError(const std::string& what) {
    QString text = QString::fromStdString(what).trimmed();
    // c10::Error messages continue with "Exception raised from ..." and a backtrace.
    const int cut = text.indexOf(QStringLiteral("Exception raised from"));
    if (cut > 0) text = text.left(cut).trimmed();
    const QStringList lines = text.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    if (!lines.isEmpty() && lines.size() > 3) text = lines.mid(0, 3).join(QLatin1Char('\n'));
    if (text.isEmpty()) text = QStringLiteral("unknown error");

    const QString lower = text.toLower();
    QString hint;
    if (lower.contains(QStringLiteral("out of memory")) || lower.contains(QStringLiteral("bad_alloc")) ||
        lower.contains(QStringLiteral("not enough memory")) || lower.contains(QStringLiteral("defaultcpuallocator"))) {
        hint = QStringLiteral("The model does not fit in memory: pick a smaller size or memory tier, lower the "
                              "micro-batch or sequence length, or enable gradient checkpointing.");
    } else if (lower.contains(QStringLiteral("no space left")) || lower.contains(QStringLiteral("enospc")) ||
               lower.contains(QStringLiteral("disk full"))) {
        hint = QStringLiteral("The disk is full: free space or choose another runs folder, then Resume.");
    } else if (lower.contains(QStringLiteral("non-finite")) || lower.contains(QStringLiteral("nan"))) {
        hint = QStringLiteral("The loss became NaN/inf: lower the learning rate, use fp32, or raise warm-up; "
                              "then Resume from the last good checkpoint.");
    } else if (lower.contains(QStringLiteral("train.bin")) || lower.contains(QStringLiteral("val.bin")) ||
               lower.contains(QStringLiteral("manifest")) || lower.contains(QStringLiteral("mtstok"))) {
        hint = QStringLiteral("The dataset looks damaged: rebuild it on the Dataset page.");
    } else if (lower.contains(QStringLiteral("safetensors")) || lower.contains(QStringLiteral("config.json"))) {
        hint = QStringLiteral("The model files are damaged or of an unsupported layout: pick another checkpoint.");
    }
    return hint.isEmpty() ? text : text + QStringLiteral("\n\n") + hint;
}

void runGuarded(const std::function<void()>& fn, const std::function<void(const QString&)>& onError) {
    try {
        fn();
    } catch (const std::exception& e) {
        onError(actionableError(e.what()));
    } catch (...) {
        onError(actionableError("unknown exception"));
    }
}

}  // namespace mts::ui
