// mts_ingest_bench SRC... [--threads N] [--near-dedup] [--cache DIR]: runs the ingest library
// over the sources, discarding documents, and prints one JSON line with throughput figures
// (input MB/s, PDF pages/s). Built on demand: `ninja mts_ingest_bench` (EXCLUDE_FROM_ALL).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "mts/ingest/ingest.h"

int main(int argc, char** argv) {
    mts::ingest::IngestOptions opt;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) opt.threads = static_cast<unsigned>(std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--near-dedup")) opt.nearDedup = true;
        else if (!std::strcmp(argv[i], "--cache") && i + 1 < argc) opt.cacheDir = argv[++i];
        else opt.sources.emplace_back(argv[i]);
    }
    if (opt.sources.empty()) {
        std::fprintf(stderr, "usage: mts_ingest_bench SRC... [--threads N] [--near-dedup] [--cache DIR]\n");
        return 2;
    }
    uint64_t pages = 0;
    auto t0 = std::chrono::steady_clock::now();
    auto r = mts::ingest::ingest(opt, [&](const mts::ingest::Document& d) {
        if (d.kind == "pdf") pages += d.meta.value("pages", 0);
        return true;
    });
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json j = {{"files_seen", r.filesSeen}, {"files_ingested", r.filesIngested}, {"documents", r.documents},
                        {"mb_in", r.bytesIn / 1e6}, {"mb_out", r.bytesOut / 1e6}, {"seconds", s},
                        {"mb_in_per_s", r.bytesIn / 1e6 / s}, {"pdf_pages", pages}, {"pdf_pages_per_s", pages / s},
                        {"exact_duplicates", r.exactDuplicates}, {"near_duplicates", r.nearDuplicates},
                        {"skipped", r.skippedByReason}, {"threads", opt.threads}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
}
