// PDF extraction in the mts-pdf-extract helper process (see pdf_isolated.h).
#include "mts/ingest/pdf_isolated.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "mts/ingest/pdf_protocol.h"

extern char** environ;

namespace mts::ingest {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kHelperName = "mts-pdf-extract";
constexpr int kExitOutOfMemory = 3;  // the helper's exit codes (tools/pdf_extract_main.cpp)
constexpr int kExitBadRequest = 5;
constexpr std::chrono::milliseconds kPollSlice{20};

std::atomic<int> gRunning{0};

PdfExtraction failure(PdfExtraction::Status status, std::string detail) {
    PdfExtraction r;
    r.status = status;
    r.detail = std::move(detail);
    return r;
}

std::string signalName(int sig) {
    const char* abbrev = sigabbrev_np(sig);
    return abbrev ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
}

bool executable(const std::filesystem::path& p) { return !p.empty() && ::access(p.c_str(), X_OK) == 0; }

// The spawned helper: killed and reaped on every way out.
class Child {
public:
    ~Child() { killAndReap(); }
    bool spawn(const std::filesystem::path& helper, const PdfHelperOptions& o, int childFd, std::string& error) {
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_adddup2(&fa, childFd, 0);
        posix_spawn_file_actions_adddup2(&fa, childFd, 1);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // nothing else of ours leaks into it
#endif
        // Own process group (a terminal's Ctrl-C is for the parent, which then kills it),
        // default signal dispositions, nothing blocked.
        sigset_t all, none;
        sigfillset(&all);
        sigemptyset(&none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
        const double cpu = o.cpuSeconds > 0 ? o.cpuSeconds : o.timeoutSeconds;
        std::string a0 = helper.string(), a1 = "--memory-mb", a2 = std::to_string(o.memoryBytes >> 20),
                    a3 = "--cpu-seconds", a4 = std::to_string(static_cast<long>(std::ceil(std::max(1.0, cpu)))),
                    a5 = "--parent-pid", a6 = std::to_string(::getpid());
        char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data(), a5.data(), a6.data(), nullptr};
        const int rc = posix_spawn(&m_pid, helper.c_str(), &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (rc != 0) {
            m_pid = -1;
            error = fmt::format("cannot start the PDF helper {}: {}", helper.string(), std::strerror(rc));
            return false;
        }
        ++gRunning;
        return true;
    }
    // Non-blocking: true once the child has exited (status and usage then valid).
    bool poll() {
        if (m_pid < 0) return true;
        const pid_t r = ::wait4(m_pid, &m_status, WNOHANG, &m_usage);
        if (r == m_pid || (r < 0 && errno == ECHILD)) {
            reaped();
            return true;
        }
        return false;
    }
    void killAndReap() {
        if (m_pid < 0) return;
        ::kill(m_pid, SIGKILL);
        while (::wait4(m_pid, &m_status, 0, &m_usage) < 0 && errno == EINTR) {
        }
        reaped();
    }
    int status() const { return m_status; }
    void addUsage(PdfHelperStats* stats) const {
        if (!stats) return;
        stats->childUserSeconds += m_usage.ru_utime.tv_sec + m_usage.ru_utime.tv_usec / 1e6;
        stats->childSystemSeconds += m_usage.ru_stime.tv_sec + m_usage.ru_stime.tv_usec / 1e6;
    }

private:
    void reaped() {
        m_pid = -1;
        --gRunning;
    }
    pid_t m_pid = -1;
    int m_status = 0;
    struct rusage m_usage {};
};

struct Fd {
    int fd = -1;
    ~Fd() { reset(); }
    void reset() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
};

}  // namespace

int pdfHelpersRunning() { return gRunning.load(); }

std::filesystem::path findPdfHelper(const std::filesystem::path& configured) {
    if (!configured.empty()) return executable(configured) ? configured : std::filesystem::path();
    if (const char* env = std::getenv("MTS_PDF_EXTRACT"); env && *env)
        return executable(env) ? std::filesystem::path(env) : std::filesystem::path();
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const std::filesystem::path beside = exe.parent_path() / kHelperName;
        if (executable(beside)) return beside;
    }
    return {};
}

PdfExtraction extractPdfIsolated(std::string_view bytes, const std::string& password, const std::atomic<bool>* cancel,
                                 const PdfHelperOptions& options, PdfHelperStats* stats) {
    countPdfExtraction();
    const std::filesystem::path helper = findPdfHelper(options.helper);
    if (helper.empty()) {
        std::error_code ec;
        const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
        const char* env = std::getenv("MTS_PDF_EXTRACT");
        std::string where = !options.helper.empty() ? options.helper.string() + " is not an executable file"
                            : env && *env ? fmt::format("MTS_PDF_EXTRACT={} is not an executable file", env)
                                          : "looked beside " + exe.parent_path().string() + "; set MTS_PDF_EXTRACT to its path";
        return failure(PdfExtraction::Status::HelperFailed,
                       fmt::format("the PDF helper {} was not found ({})", kHelperName, where));
    }
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return failure(PdfExtraction::Status::HelperFailed, fmt::format("socketpair: {}", std::strerror(errno)));
    Fd ours{sv[0]}, theirs{sv[1]};
    Child child;
    std::string error;
    if (!child.spawn(helper, options, theirs.fd, error)) return failure(PdfExtraction::Status::HelperFailed, error);
    theirs.reset();
    ::fcntl(ours.fd, F_SETFL, ::fcntl(ours.fd, F_GETFL) | O_NONBLOCK);

    const std::string head = pdfproto::encodeRequestHead(password, bytes.size());
    size_t sent = 0;  // of head + bytes
    const size_t toSend = head.size() + bytes.size();
    pdfproto::ReplyDecoder decoder;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(std::max(0.0, options.timeoutSeconds)));
    auto stop = [&](PdfExtraction::Status status, std::string detail) {
        child.killAndReap();
        child.addUsage(stats);
        if (stats) stats->bytesReceived = decoder.bytesReceived();
        return failure(status, std::move(detail));
    };
    bool eof = false;
    char buf[1 << 16];
    while (!eof) {
        if (cancel && cancel->load()) return stop(PdfExtraction::Status::Cancelled, "cancelled");
        const auto now = Clock::now();
        if (now >= deadline)
            return stop(PdfExtraction::Status::Timeout,
                        fmt::format("no result within {:g} s; the PDF helper was stopped", options.timeoutSeconds));
        const auto slice = std::min<Clock::duration>(kPollSlice, deadline - now);
        pollfd p{ours.fd, static_cast<short>(POLLIN | (sent < toSend ? POLLOUT : 0)), 0};
        const int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(slice).count()) + 1;
        if (::poll(&p, 1, ms) < 0 && errno != EINTR)
            return stop(PdfExtraction::Status::HelperFailed, fmt::format("poll: {}", std::strerror(errno)));
        if ((p.revents & POLLOUT) && sent < toSend) {
            for (;;) {
                const char* data = sent < head.size() ? head.data() + sent : bytes.data() + (sent - head.size());
                const size_t n = sent < head.size() ? head.size() - sent : toSend - sent;
                const ssize_t w = ::send(ours.fd, data, std::min<size_t>(n, 1 << 20), MSG_NOSIGNAL);
                if (w > 0) {
                    sent += static_cast<size_t>(w);
                    if (sent == toSend) break;
                    continue;
                }
                if (w < 0 && errno == EINTR) continue;
                if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) sent = toSend;  // it died; the read side tells
                break;
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            for (;;) {
                const ssize_t r = ::recv(ours.fd, buf, sizeof(buf), 0);
                if (r > 0) {
                    if (!decoder.feed(buf, static_cast<size_t>(r)))
                        return stop(PdfExtraction::Status::Crashed, "the PDF helper broke the protocol: " + decoder.error());
                    continue;
                }
                if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) eof = true;
                if (r < 0 && errno == EINTR) continue;
                break;
            }
        }
    }
    // The helper closed its end: it has exited or is about to.
    while (!child.poll()) {
        if (cancel && cancel->load()) return stop(PdfExtraction::Status::Cancelled, "cancelled");
        if (Clock::now() >= deadline)
            return stop(PdfExtraction::Status::Timeout,
                        fmt::format("the PDF helper did not exit within {:g} s", options.timeoutSeconds));
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    child.addUsage(stats);
    if (stats) stats->bytesReceived = decoder.bytesReceived();
    const int st = child.status();
    if (WIFSIGNALED(st)) {
        const int sig = WTERMSIG(st);
        if (sig == SIGXCPU || sig == SIGKILL)
            return failure(PdfExtraction::Status::Timeout,
                           fmt::format("the PDF helper was stopped by {} (CPU limit of {:g} s, or the system)",
                                       signalName(sig), options.cpuSeconds > 0 ? options.cpuSeconds : options.timeoutSeconds));
        return failure(PdfExtraction::Status::Crashed,
                       fmt::format("poppler crashed on it: the PDF helper died of {}{}", signalName(sig),
                                   sig == SIGABRT ? " (an internal error, or over the memory limit)" : ""));
    }
    const int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (code == kExitOutOfMemory)
        return failure(PdfExtraction::Status::OutOfMemory,
                       fmt::format("poppler needed more than the PDF helper's memory limit of {} MiB", options.memoryBytes >> 20));
    if (code == kExitBadRequest) return failure(PdfExtraction::Status::HelperFailed, "the PDF helper refused the request");
    if (code != 0) return failure(PdfExtraction::Status::Crashed, fmt::format("the PDF helper failed with exit code {}", code));
    if (!decoder.done() || decoder.pendingBytes() != 0)
        return failure(PdfExtraction::Status::Crashed, "the PDF helper stopped before sending the whole result");
    return finishPdf(decoder.take());
}

}  // namespace mts::ingest
