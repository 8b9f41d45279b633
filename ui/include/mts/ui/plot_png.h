#pragma once
// PNG rendering of core's LinePlot (core/train/svg_plot.h) with QtGui (QImage + QPainter), for
// the comparison suite's report: the same axes, colors and legend as the SVG.
// Threading: QImage painting is safe on a worker thread (no widgets involved).
#include <filesystem>

#include <QImage>

#include "mts/core/train/svg_plot.h"

namespace mts::ui {

/// The plot as an image of width x height pixels.
QImage renderPlotImage(const LinePlot& plot, int width = 720, int height = 440);

/// renderPlotImage saved as PNG. Throws FormatError naming the file when it cannot be written.
void writePlotPng(const LinePlot& plot, const std::filesystem::path& file);

}  // namespace mts::ui
