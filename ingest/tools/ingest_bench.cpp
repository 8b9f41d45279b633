// mts_ingest_bench SRC... [--threads N] [--near-dedup] [--cache DIR] [--pdf-in-process]:
// runs the ingest library over the sources, discarding documents, and prints one JSON line with
// throughput figures (input MB/s, PDF pages/s, CPU seconds of this process and its helpers).
//
// mts_ingest_bench --pdf-compare SRC... [--repeat N]: every PDF under the sources extracted N
// times in this process (extractPdf) and N times through the helper process
// (extractPdfIsolated), one at a time; prints pages per CPU-second for each (CPU = user +
// system of this process plus its reaped children, i.e. parent + helper) and the overhead.
//
// Built on demand: `cmake --build build/release --target mts_ingest_bench` (EXCLUDE_FROM_ALL);
// it lands beside mts-pdf-extract in build/release/app/.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mts/ingest/ingest.h"
#include "mts/ingest/pdf_isolated.h"
#include "mts/ingest/pdf_text.h"

namespace {

double cpuSeconds() {
    auto secs = [](const struct rusage& u) {
        return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
    };
    struct rusage self {}, children {};
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    return secs(self) + secs(children);
}

std::vector<std::filesystem::path> pdfsUnder(const std::vector<std::filesystem::path>& sources) {
    std::vector<std::filesystem::path> out;
    for (const auto& s : sources) {
        if (std::filesystem::is_regular_file(s)) {
            out.push_back(s);
            continue;
        }
        for (const auto& e : std::filesystem::recursive_directory_iterator(s))
            if (e.is_regular_file() && e.path().extension() == ".pdf") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

int comparePdf(const std::vector<std::filesystem::path>& sources, int repeat) {
    std::vector<std::string> pdfs;
    for (const auto& p : pdfsUnder(sources)) {
        std::ifstream in(p, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        pdfs.push_back(ss.str());
    }
    // The two modes alternate, one PDF at a time, so drifting machine load hits both alike.
    uint64_t pages[2] = {0, 0}, failed[2] = {0, 0};
    double cpu[2] = {0, 0}, wall[2] = {0, 0};
    for (int r = 0; r < repeat; ++r)
        for (const auto& bytes : pdfs)
            for (int mode = 0; mode < 2; ++mode) {
                const double cpu0 = cpuSeconds();
                const auto t0 = std::chrono::steady_clock::now();
                const auto e = mode == 0 ? mts::ingest::extractPdf(bytes) : mts::ingest::extractPdfIsolated(bytes, "", nullptr);
                cpu[mode] += cpuSeconds() - cpu0;
                wall[mode] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                if (e.status == mts::ingest::PdfExtraction::Status::Ok) pages[mode] += e.pageCount;
                else ++failed[mode];
            }
    nlohmann::json out;
    for (int mode = 0; mode < 2; ++mode)
        out[mode == 0 ? "in_process" : "helper_process"] = {{"pages", pages[mode]},
                                                            {"not_ok", failed[mode]},
                                                            {"cpu_seconds", cpu[mode]},
                                                            {"wall_seconds", wall[mode]},
                                                            {"pages_per_cpu_second", pages[mode] / cpu[mode]}};
    const double perCpu[2] = {pages[0] / cpu[0], pages[1] / cpu[1]};
    out["pdf_files"] = pdfs.size();
    out["repeat"] = repeat;
    out["overhead_percent"] = 100.0 * (perCpu[0] / perCpu[1] - 1.0);  // extra CPU per page
    std::printf("%s\n", out.dump().c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    mts::ingest::IngestOptions opt;
    bool compare = false;
    int repeat = 3;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) opt.threads = static_cast<unsigned>(std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--near-dedup")) opt.nearDedup = true;
        else if (!std::strcmp(argv[i], "--cache") && i + 1 < argc) opt.cacheDir = argv[++i];
        else if (!std::strcmp(argv[i], "--pdf-in-process")) opt.pdfInProcess = true;
        else if (!std::strcmp(argv[i], "--pdf-compare")) compare = true;
        else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
        else opt.sources.emplace_back(argv[i]);
    }
    if (opt.sources.empty()) {
        std::fprintf(stderr,
                     "usage: mts_ingest_bench SRC... [--threads N] [--near-dedup] [--cache DIR] [--pdf-in-process]\n"
                     "       mts_ingest_bench --pdf-compare SRC... [--repeat N]\n");
        return 2;
    }
    if (compare) return comparePdf(opt.sources, repeat);
    uint64_t pages = 0;
    const double cpu0 = cpuSeconds();
    auto t0 = std::chrono::steady_clock::now();
    auto r = mts::ingest::ingest(opt, [&](const mts::ingest::Document& d) {
        if (d.kind == "pdf") pages += d.meta.value("pages", 0);
        return true;
    });
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpuSeconds() - cpu0;
    nlohmann::json j = {{"files_seen", r.filesSeen}, {"files_ingested", r.filesIngested}, {"documents", r.documents},
                        {"mb_in", r.bytesIn / 1e6}, {"mb_out", r.bytesOut / 1e6}, {"seconds", s},
                        {"cpu_seconds", cpu}, {"mb_in_per_s", r.bytesIn / 1e6 / s}, {"pdf_pages", pages},
                        {"pdf_pages_per_s", pages / s}, {"pdf_extractions", r.pdfExtractions},
                        {"pdf_isolation", opt.pdfInProcess ? "in-process" : "helper-process"},
                        {"exact_duplicates", r.exactDuplicates}, {"near_duplicates", r.nearDuplicates},
                        {"skipped", r.skippedByReason}, {"threads", opt.threads}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
}
