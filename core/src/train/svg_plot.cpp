#include "mts/core/train/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "mts/core/runtime/durable_file.h"
#include "mts/core/runtime/errors.h"

namespace mts {
namespace {

std::string escapeXml(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

bool usable(const LinePlot& plot, double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!plot.logX || x > 0);
}

double tx(const LinePlot& plot, double x) { return plot.logX ? std::log10(x) : x; }

std::string tickLabel(double v, bool logX) {
    if (logX) return fmt::format("1e{}", static_cast<int>(std::lround(v)));
    if (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-2)) return fmt::format("{:.1e}", v);
    return fmt::format("{:.4g}", v);
}

// About five round tick values in [lo, hi].
std::vector<double> ticks(double lo, double hi, bool integer) {
    std::vector<double> out;
    const double span = hi - lo;
    double step = std::pow(10.0, std::floor(std::log10(span / 5.0)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (span / (step * m) <= 6.0) {
            step *= m;
            break;
        }
    if (integer) step = std::max(1.0, std::round(step));
    for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) out.push_back(v);
    return out;
}

}  // namespace

std::string plotColor(size_t i) {
    static const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    return kColors[i % (sizeof(kColors) / sizeof(kColors[0]))];
}

std::vector<double> plotRange(const LinePlot& plot) {
    double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
    for (const auto& s : plot.series)
        for (const auto& [x, y] : s.points) {
            if (!usable(plot, x, y)) continue;
            x0 = std::min(x0, tx(plot, x));
            x1 = std::max(x1, tx(plot, x));
            y0 = std::min(y0, y);
            y1 = std::max(y1, y);
        }
    if (!std::isfinite(x0)) return {0.0, 1.0, 0.0, 1.0};
    if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
    if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
    const double pad = 0.05 * (y1 - y0);
    return {x0, x1, y0 - pad, y1 + pad};
}

std::string renderSvg(const LinePlot& plot, int width, int height) {
    const double left = 70, right = 160, top = 36, bottom = 52;
    const double pw = width - left - right, ph = height - top - bottom;
    const auto r = plotRange(plot);
    auto px = [&](double x) { return left + (x - r[0]) / (r[1] - r[0]) * pw; };
    auto py = [&](double y) { return top + ph - (y - r[2]) / (r[3] - r[2]) * ph; };
    std::string s = fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n"
        "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
        "<text x=\"{2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{3}</text>\n",
        width, height, left + pw / 2, escapeXml(plot.title));
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", left,
                     top, pw, ph);
    for (double v : ticks(r[0], r[1], plot.logX))
        s += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1}\" x2=\"{0:.2f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
                         "<text x=\"{0:.2f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                         px(v), top, top + ph, top + ph + 16, tickLabel(v, plot.logX));
    for (double v : ticks(r[2], r[3], false))
        s += fmt::format("<line x1=\"{0}\" y1=\"{1:.2f}\" x2=\"{2}\" y2=\"{1:.2f}\" stroke=\"#ddd\"/>"
                         "<text x=\"{3}\" y=\"{4:.2f}\" text-anchor=\"end\">{5}</text>\n",
                         left, py(v), left + pw, left - 6, py(v) + 4, tickLabel(v, false));
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", left + pw / 2, height - 12,
                     escapeXml(plot.xLabel));
    s += fmt::format("<text x=\"16\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {0})\">{1}</text>\n",
                     top + ph / 2, escapeXml(plot.yLabel));
    for (size_t i = 0; i < plot.series.size(); ++i) {
        const PlotSeries& series = plot.series[i];
        std::string pts;
        for (const auto& [x, y] : series.points)
            if (usable(plot, x, y)) pts += fmt::format("{}{:.2f},{:.2f}", pts.empty() ? "" : " ", px(tx(plot, x)), py(y));
        const std::string color = plotColor(i);
        s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n", color, pts);
        const double ly = top + 14 + 20 * static_cast<double>(i);
        s += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"3\"/>"
                         "<text x=\"{4}\" y=\"{5}\">{6}</text>\n",
                         left + pw + 12, ly, left + pw + 34, color, left + pw + 40, ly + 4, escapeXml(series.name));
    }
    s += "</svg>\n";
    return s;
}

void writeSvgFile(const std::filesystem::path& file, const LinePlot& plot) {
    try {
        writeFileAtomic(file, renderSvg(plot));
    } catch (const FormatError&) {
        throw;
    } catch (const std::exception& e) {
        throw FormatError(file.string(), std::string("cannot write the plot: ") + e.what());
    }
}

}  // namespace mts
