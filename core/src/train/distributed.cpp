#include "mts/core/train/distributed.h"

#include <chrono>
#include <cstdlib>
#include <thread>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include "mts/core/runtime/errors.h"
#include "runtime/torch_compat_c10d.h"

namespace mts {

namespace {

using Clock = std::chrono::steady_clock;

std::string envString(const char* name, const std::string& fallback = "") {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
}

int64_t envInt(const char* name, int64_t fallback, int64_t lo, int64_t hi) {
    const std::string s = envString(name);
    if (s.empty()) return fallback;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (!end || *end != '\0' || v < lo || v > hi)
        throw ConfigError(fmt::format("{}={}: expected an integer in {}..{}", name, s, lo, hi));
    return v;
}

double envDouble(const char* name, double fallback, double lo) {
    const std::string s = envString(name);
    if (s.empty()) return fallback;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (!end || *end != '\0' || !(v >= lo)) throw ConfigError(fmt::format("{}={}: expected a number >= {}", name, s, lo));
    return v;
}

bool isLoopback(const std::string& host) {
    return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// The local address this machine uses to reach host:port (a UDP "connect" sends nothing; the
// kernel just picks the route). Gloo must bind to a routable address: the hostname resolves to
// 127.0.1.1 on Debian, which other machines cannot reach.
std::string localAddressToward(const std::string& host, int port) {
    if (isLoopback(host)) return "127.0.0.1";
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res)
        throw DistributedError(fmt::format("data parallel: cannot resolve MASTER_ADDR {}", host));
    std::string out;
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd >= 0) {
        if (::connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
            sockaddr_in local{};
            socklen_t len = sizeof(local);
            char buf[INET_ADDRSTRLEN] = {};
            if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
                ::inet_ntop(AF_INET, &local.sin_addr, buf, sizeof(buf)))
                out = buf;
        }
        ::close(fd);
    }
    ::freeaddrinfo(res);
    if (out.empty())
        throw DistributedError(fmt::format("data parallel: no route to MASTER_ADDR {} (set GLOO_SOCKET_IFNAME to the "
                                           "network interface to use)",
                                           host));
    return out;
}

std::string hostName() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof(buf) - 1) != 0) return "?";
    return buf;
}

}  // namespace

DistributedOptions distributedOptionsFromEnv() {
    DistributedOptions o;
    const std::string ws = envString("WORLD_SIZE");
    if (ws.empty()) return o;
    o.enabled = true;
    o.worldSize = static_cast<int>(envInt("WORLD_SIZE", 1, 1, 1 << 20));
    o.rank = static_cast<int>(envInt("RANK", -1, 0, o.worldSize - 1));
    if (o.rank < 0) throw ConfigError("WORLD_SIZE is set but RANK is not: set both (torchrun does)");
    o.localRank = static_cast<int>(envInt("LOCAL_RANK", o.rank, 0, 1 << 20));
    o.masterAddr = envString("MASTER_ADDR", "127.0.0.1");
    o.masterPort = static_cast<int>(envInt("MASTER_PORT", 29500, 1, 65535));
    // torchrun 1.13 leaves the store to rank 0; newer ones host it in the agent and say so.
    const std::string agent = envString("TORCHELASTIC_USE_AGENT_STORE");
    o.storeHosted = agent == "True" || agent == "true" || agent == "1" || envString("MTS_DIST_STORE_HOSTED") == "1";
    o.backend = envString("MTS_DIST_BACKEND", "auto");
    if (o.backend != "auto" && o.backend != "gloo" && o.backend != "nccl")
        throw ConfigError("MTS_DIST_BACKEND=" + o.backend + ": expected auto, gloo or nccl");
    o.timeoutSec = envDouble("MTS_DIST_TIMEOUT", o.timeoutSec, 1.0);
    o.bucketMb = envDouble("MTS_DIST_BUCKET_MB", o.bucketMb, 0.0);
    o.overlap = envString("MTS_DIST_OVERLAP", "1") != "0";
    o.glooInterface = envString("GLOO_SOCKET_IFNAME");
    return o;
}

DataParallelGroup::~DataParallelGroup() = default;

const std::string& DataParallelGroup::backend() const {
    static const std::string none = "none";
    return m_comm ? m_options.backend : none;
}

DistributedError DataParallelGroup::error(const std::string& what, const std::exception& cause) const {
    return DistributedError(fmt::format("data parallel: rank {} of {}: {} failed: {} (another rank died or hung; "
                                        "collectives give up after {:g} s)",
                                        m_rank, m_worldSize, what, cause.what(), m_options.timeoutSec));
}

std::unique_ptr<DataParallelGroup> DataParallelGroup::join(const DistributedOptions& options,
                                                           const torch::Device& device) {
    if (options.worldSize < 1 || options.rank < 0 || options.rank >= options.worldSize)
        throw ConfigError(fmt::format("data parallel: rank {} outside a world of {}", options.rank, options.worldSize));
    std::unique_ptr<DataParallelGroup> g(new DataParallelGroup());
    g->m_options = options;
    g->m_rank = options.rank;
    g->m_worldSize = options.worldSize;
    g->m_device = device;
    std::string backend = options.backend;
    if (backend == "auto") backend = device.is_cuda() ? "nccl" : "gloo";
    if (backend == "gloo" && device.is_cuda())
        throw ConfigError("data parallel: the gloo backend is for CPU tensors; CUDA training needs nccl");
    if (backend == "nccl" && !device.is_cuda())
        throw ConfigError("data parallel: the nccl backend needs CUDA tensors (train on cuda, or use gloo)");
    g->m_options.backend = backend;
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeoutSec * 1000.0));
    const std::string where = fmt::format("{}:{}", options.masterAddr, options.masterPort);

    try {
        const bool server = options.rank == 0 && !options.storeHosted;
        g->m_store = compat::CommStore::tcp(options.masterAddr, static_cast<uint16_t>(options.masterPort), server,
                                            timeout);
    } catch (const std::exception& e) {
        throw DistributedError(fmt::format("data parallel: rank {} could not {} the rendezvous store at {}: {}",
                                           options.rank,
                                           options.rank == 0 && !options.storeHosted ? "host" : "reach", where,
                                           e.what()));
    }
    // Count in, then wait for the others here (not inside c10d) so that a local rank that exits
    // early, or a wrong world size, ends the wait with a message instead of a long silence.
    try {
        g->m_store->set(fmt::format("mts/rank/{}", options.rank), fmt::format("{} {}", hostName(), ::getpid()));
        g->m_store->add("mts/joined", 1);
        const auto start = Clock::now();
        for (;;) {
            const int64_t joined = g->m_store->add("mts/joined", 0);
            if (joined >= options.worldSize) break;
            if (options.peerExited) {
                if (std::string why = options.peerExited(); !why.empty())
                    throw DistributedError(fmt::format("data parallel: {} before all ranks joined", why));
            }
            if (std::chrono::duration<double>(Clock::now() - start).count() > options.timeoutSec)
                throw DistributedError(fmt::format("data parallel: only {} of {} ranks joined at {} within {:g} s "
                                                   "(start every rank with the same WORLD_SIZE, MASTER_ADDR and "
                                                   "MASTER_PORT)",
                                                   joined, options.worldSize, where, options.timeoutSec));
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        for (int r = 0; r < options.worldSize; ++r) {
            const std::string v = g->m_store->get(fmt::format("mts/rank/{}", r));
            RankInfo info;
            info.rank = r;
            const auto space = v.rfind(' ');
            info.host = v.substr(0, space);
            info.pid = space == std::string::npos ? 0 : std::atoll(v.c_str() + space + 1);
            g->m_ranks.push_back(info);
        }
        const std::string glooHost =
            backend == "gloo" && options.glooInterface.empty() ? localAddressToward(options.masterAddr, options.masterPort)
                                                               : std::string();
        g->m_comm = compat::CommGroup::create(backend, g->m_store, options.rank, options.worldSize, timeout, glooHost,
                                              options.glooInterface);
    } catch (const DistributedError&) {
        throw;
    } catch (const std::exception& e) {
        throw DistributedError(fmt::format("data parallel: rank {} of {} could not join at {}: {}", options.rank,
                                           options.worldSize, where, e.what()));
    }
    return g;
}

void DataParallelGroup::broadcastFromRankZero(const std::vector<torch::Tensor>& tensors) {
    torch::NoGradGuard noGrad;
    try {
        for (const auto& t : tensors) {
            // Collectives need contiguous tensors on the group's device; parameters are, but a
            // copy keeps this general (and is written back in place).
            torch::Tensor buf = t.detach().to(m_device).contiguous();
            m_comm->broadcast(buf, 0)->wait();
            if (!buf.is_same(t)) t.detach().copy_(buf);
        }
    } catch (const std::exception& e) {
        throw error("broadcasting the model from rank 0", e);
    }
}

std::vector<double> DataParallelGroup::sum(const std::vector<double>& values, const std::string& what) {
    torch::Tensor t = torch::tensor(values, torch::TensorOptions().dtype(torch::kFloat64)).to(m_device);
    try {
        m_comm->allreduceSum(t)->wait();
    } catch (const std::exception& e) {
        throw error(what, e);
    }
    t = t.cpu();
    return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

}  // namespace mts
