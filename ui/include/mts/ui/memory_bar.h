#pragma once
// MemoryBar: a horizontal stacked bar of a training run's estimated memory (weights, gradients,
// optimizer state, activations, other) against the memory tier's budget. The bar and its
// outline turn red when the total does not fit. GUI thread only.
#include <QString>
#include <QVector>
#include <QWidget>

namespace mts::ui {

class MemoryBar : public QWidget {
    Q_OBJECT
public:
    struct Part {
        QString name;
        double bytes = 0;
    };

    explicit MemoryBar(QWidget* parent = nullptr);

    void setEstimate(const QVector<Part>& parts, double budgetBytes);
    void clear();

    double totalBytes() const;
    double budgetBytes() const { return m_budget; }
    /// True when an estimate is shown and its total exceeds the budget.
    bool overBudget() const { return m_budget > 0 && totalBytes() > m_budget; }
    /// The colour the bar's total is drawn in (red when over budget); for tests and screenshots.
    QColor stateColor() const;

    QSize sizeHint() const override { return {360, 46}; }
    QSize minimumSizeHint() const override { return {160, 40}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QVector<Part> m_parts;
    double m_budget = 0;
};

}  // namespace mts::ui
