// The comparison suite's report.md.
#include <cmath>

#include <fmt/format.h>

#include "mts/core/train/compare_suite.h"

namespace mts {
namespace {

std::string count(double v) {
    if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
    if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
    if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
    return fmt::format("{:.0f}", v);
}

std::string loss(double v) { return v >= 0 ? fmt::format("{:.4f}", v) : "-"; }

std::string tokenizerLine(const std::string& spec) {
    if (spec.rfind("bpe:", 0) == 0)
        return fmt::format("{} (byte-level BPE of {} ids learned from the training split alone; a corpus folder "
                           "keeps its own)", spec, spec.substr(4));
    return spec + " (for text data; a corpus folder keeps its own)";
}

}  // namespace

double CompareRow::bestNatsPerByte() const { return bestBitsPerByte >= 0 ? bestBitsPerByte * std::log(2.0) : -1.0; }

std::string compareReportMarkdown(const CompareConfig& config, const std::vector<CompareRow>& rows, bool pngWritten,
                                  bool peakIsPerRun) {
    std::string md = "# Architecture comparison\n\n";
    md += fmt::format("- data: `{}`\n- budget: {} per architecture\n- training: seq_len {}, micro_batch {} x "
                      "grad_accum {}, lr {}, weight_decay {}, dropout {}, optimizer {}\n- text tokenizer: {}\n\n",
                      config.data, config.budget.toString(), config.train.seqLen, config.train.microBatch,
                      config.train.gradAccum, config.train.lr, config.train.weightDecay, config.train.model.dropout,
                      toString(config.train.optimizer), tokenizerLine(config.train.textTokenizer));
    md += "| architecture | d_model x layers | parameters (active / total) | tokens | FLOPs | tokens/s | "
          "best val loss (nats/token) | best val nats/byte | best val bits/byte | peak memory | status |\n";
    md += "|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : rows) {
        const std::string layers = r.nLayer > 0 ? std::to_string(r.nLayer) : "-";  // the linear baseline: none
        md += fmt::format("| {} | {} x {} | {} / {} | {} | {:.3g} | {:.0f} | {} | {} | {} | {:.0f} MB | {} |\n",
                          r.arch, r.dModel, layers, count(double(r.activeParams)), count(double(r.totalParams)),
                          count(r.tokens), r.flops, r.tokensPerSec, loss(r.bestValLoss), loss(r.bestNatsPerByte()),
                          loss(r.bestBitsPerByte),
                          double(r.peakRssBytes) / (1024.0 * 1024.0),
                          // A run finished by an earlier invocation is reported as what it is.
                          r.status == kFinishedBeforeStatus ? std::string("finished") : r.status);
    }
    md += "\nFLOPs = 6 x active non-embedding parameters x tokens (a sparse MoE counts its routed experts only). "
          "Every model is sized to the same total parameter count as near as its widths allow. tokens/s is the mean "
          "of the logged training throughput; ";
    md += peakIsPerRun ? "peak memory is the process's peak resident set during that run.\n"
                       : "peak memory is the process's peak resident set so far (this system could not reset it "
                         "between runs), so later rows include earlier runs' peaks.\n";
    md += "Losses per byte are the losses per token over the validation text's UTF-8 bytes per token, so they "
          "compare across tokenizers (a byte-level model's nats/token are its nats/byte); the plots show nats/byte.\n";
    md += "\n## Plots\n\n![validation loss against FLOPs](val_loss_vs_flops.svg)\n\n"
          "![validation loss against wall time](val_loss_vs_time.svg)\n\n";
    md += pngWritten ? "PNG copies: val_loss_vs_flops.png, val_loss_vs_time.png.\n"
                     : "SVG only: PNG copies are rendered by the studio (this build has no Qt).\n";
    md += "\nEach architecture's run folder is under runs/; re-running the same command skips finished runs and "
          "resumes an interrupted one.\n";
    return md;
}

}  // namespace mts
