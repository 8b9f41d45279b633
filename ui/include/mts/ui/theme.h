#pragma once
// Theme: the studio follows the system palette (light or dark) rather than shipping its own.
// Plots and the few custom-drawn widgets take their colours from these helpers so they change
// with the palette. GUI thread only.
#include <QColor>
#include <QPalette>

class QCustomPlot;

namespace mts::ui {

/// Loads resources/style/studio.qss (spacing and sizes only; colours come from the palette).
void applyStudioStyle();

/// True when the window background is darker than its text (a dark system theme).
bool isDarkPalette(const QPalette& palette);

/// The i-th series colour, readable on the current palette (i wraps around).
QColor seriesColor(int i, const QPalette& palette);

/// Sets the plot's background, axes, grid and legend colours from the palette.
void stylePlot(QCustomPlot* plot, const QPalette& palette);

/// Human-readable byte count ("1.2 GiB").
QString formatBytes(double bytes);

}  // namespace mts::ui
