// mts-pdf-extract: the PDF helper process. Reads one request from stdin (pdf_protocol.h), runs
// poppler on it under the limits given on the command line and writes each page's words, the
// diagnostics and a done frame to stdout. Started by extractPdfIsolated (pdf_isolated.h), never
// by people: `mts-pdf-extract --memory-mb N --cpu-seconds N --parent-pid PID`.
//
// Exit codes: 0 done (whatever the PDF's status), 3 out of memory, 4 unexpected error,
// 5 malformed request or arguments.
//
// Test hook: with MTS_PDF_EXTRACT_TEST=1 in the environment, a PDF containing the comment
// "%mts-test:hang" sleeps forever, "%mts-test:crash" dies of SIGSEGV, "%mts-test:oom"
// allocates until the memory limit, "%mts-test:garbage" answers with junk. Without the
// variable these markers mean nothing.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "mts/ingest/pdf_protocol.h"
#include "mts/ingest/pdf_text.h"

namespace {

using namespace mts::ingest;

constexpr int kExitOutOfMemory = 3;
constexpr int kExitError = 4;
constexpr int kExitBadRequest = 5;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;  // sanitizers reserve terabytes of address space
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

void writeAll(const std::string& s) {
    size_t done = 0;
    while (done < s.size()) {
        const ssize_t w = ::write(STDOUT_FILENO, s.data() + done, s.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) std::_Exit(kExitError);  // the parent is gone
        done += static_cast<size_t>(w);
    }
}

bool readAll(char* data, size_t n) {
    size_t got = 0;
    while (got < n) {
        const ssize_t r = ::read(STDIN_FILENO, data + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        got += static_cast<size_t>(r);
    }
    return true;
}

void setLimit(int resource, rlim_t soft, rlim_t hard) {
    struct rlimit rl {soft, hard};
    ::setrlimit(resource, &rl);
}

void testHooks(std::string_view pdf, long memoryMb) {
    const char* on = std::getenv("MTS_PDF_EXTRACT_TEST");
    if (!on || std::strcmp(on, "1") != 0) return;
    if (pdf.find("%mts-test:hang") != std::string_view::npos)
        for (;;) ::pause();
    if (pdf.find("%mts-test:crash") != std::string_view::npos) ::raise(SIGSEGV);
    if (pdf.find("%mts-test:oom") != std::string_view::npos) {
        // Allocate until the RLIMIT_AS limit refuses; without a limit (sanitizer builds) or
        // past twice the limit, act as if it had.
        if (kSanitized || memoryMb <= 0) throw std::bad_alloc();
        std::vector<std::unique_ptr<char[]>> hog;
        for (long mb = 0; mb < 2 * memoryMb; mb += 64) {
            hog.emplace_back(new char[64 << 20]);
            std::memset(hog.back().get(), 1, 64 << 20);
        }
        throw std::bad_alloc();
    }
    if (pdf.find("%mts-test:garbage") != std::string_view::npos) {
        writeAll(std::string("P\xff\xff\xff\x7fgarbage", 12));
        std::_Exit(0);
    }
}

int run(int argc, char** argv) {
    long memoryMb = 0, cpuSeconds = 0, parentPid = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const long v = std::strtol(argv[i + 1], nullptr, 10);
        if (!std::strcmp(argv[i], "--memory-mb")) memoryMb = v;
        else if (!std::strcmp(argv[i], "--cpu-seconds")) cpuSeconds = v;
        else if (!std::strcmp(argv[i], "--parent-pid")) parentPid = v;
        else return kExitBadRequest;
    }
    // Die with the parent; if it is already gone, stop now.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (parentPid > 0 && ::getppid() != parentPid) return kExitError;
    setLimit(RLIMIT_CORE, 0, 0);
    setLimit(RLIMIT_FSIZE, 0, 0);  // poppler has no reason to write files
    if (cpuSeconds > 0) setLimit(RLIMIT_CPU, static_cast<rlim_t>(cpuSeconds), static_cast<rlim_t>(cpuSeconds + 2));
    if (memoryMb > 0 && !kSanitized) {
        const rlim_t bytes = static_cast<rlim_t>(memoryMb) << 20;
        setLimit(RLIMIT_AS, bytes, bytes);
    }

    char header[pdfproto::kRequestHeader];
    if (!readAll(header, sizeof(header))) return kExitBadRequest;
    const uint64_t length = pdfproto::requestPayloadLength(std::string_view(header, sizeof(header)));
    if (length == UINT64_MAX || length > (uint64_t(1) << 40)) return kExitBadRequest;
    std::string frame(sizeof(header) + static_cast<size_t>(length), '\0');
    std::memcpy(frame.data(), header, sizeof(header));
    if (!readAll(frame.data() + sizeof(header), static_cast<size_t>(length))) return kExitBadRequest;
    std::string password, error;
    std::string_view pdf;
    if (!pdfproto::decodeRequest(frame, password, pdf, error)) return kExitBadRequest;
    testHooks(pdf, memoryMb);

    PdfWords words = readPdfWords(pdf, password, nullptr, [](int index, std::vector<WordBox>&& page) {
        writeAll(pdfproto::encodePage(static_cast<uint32_t>(index), page));
    });
    for (const auto& m : words.messages) writeAll(pdfproto::encodeMessage(m));
    writeAll(pdfproto::encodeDone(words.status, words.wasEncrypted, static_cast<uint32_t>(words.pageCount), words.detail));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::bad_alloc&) {
        return kExitOutOfMemory;
    } catch (...) {
        return kExitError;
    }
}
