#pragma once
// A small line-plot writer: series of (x, y) points -> a self-contained SVG document (axes,
// ticks, labels, legend; no scripts, no external references). Used for the comparison
// suite's plots; the studio renders the same LinePlot to PNG with QtGui (ui/ only).
//
// Threading: plain functions, any thread. Failure: writeSvgFile throws FormatError naming the
// file when it cannot be written; non-finite points are skipped.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace mts {

struct PlotSeries {
    std::string name;                              // legend text
    std::vector<std::pair<double, double>> points;  // (x, y), drawn in order
};

struct LinePlot {
    std::string title;
    std::string xLabel;
    std::string yLabel;
    bool logX = false;  // log10 x axis (FLOPs); points with x <= 0 are skipped
    std::vector<PlotSeries> series;
};

/// The plot's data range after skipping unusable points: {xMin, xMax, yMin, yMax}, padded so
/// that a single point or a flat line still has a non-empty range. logX: x in log10 units.
std::vector<double> plotRange(const LinePlot& plot);

/// The color series i is drawn in ("#1f77b4", ...), shared with the PNG renderer.
std::string plotColor(size_t i);

/// The SVG document (width x height pixels).
std::string renderSvg(const LinePlot& plot, int width = 720, int height = 440);

/// renderSvg written atomically to `file`.
void writeSvgFile(const std::filesystem::path& file, const LinePlot& plot);

}  // namespace mts
