#pragma once
// LibTorch's distributed engine (c10d) as the data-parallel trainer uses it, behind small
// opaque classes so that c10d's headers are included by one .cpp only. Version differences
// live in torch_compat_c10d.cpp: 1.13's ProcessGroupGloo derives from ProcessGroup, 2.x's from
// Backend (the calls used here compile against both); NCCL exists only in official CUDA builds
// (USE_C10D_NCCL and nccl.h), Debian's 1.13 has Gloo only.
//
// Threading: a CommGroup's collectives must be issued by every rank in the same order with the
// same sizes (else all ranks wait until the timeout). Issue them from one thread; the returned
// work completes on c10d's own threads. A store may be used from any thread.
// Failure: every call throws std::runtime_error with c10d's first line (a peer that closed
// its connection, a timeout, a refused connection).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <ATen/Tensor.h>

namespace mts::compat {

/// A key-value store for the rendezvous (c10d::TCPStore).
class CommStore {
public:
    /// isServer: host the store on host:port (port 0 = a free port the system picks; read it
    /// back with port()); otherwise connect to it, retrying until `timeout`.
    static std::shared_ptr<CommStore> tcp(const std::string& host, uint16_t port, bool isServer,
                                          std::chrono::milliseconds timeout);
    ~CommStore();
    uint16_t port() const;
    void set(const std::string& key, const std::string& value);
    /// Blocks until the key exists (up to the store's timeout).
    std::string get(const std::string& key);
    /// Adds delta to an integer key (created at 0) and returns the new value; add(k, 0) reads.
    int64_t add(const std::string& key, int64_t delta);

    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

/// An asynchronous collective; wait() blocks until it is done and throws when it failed.
class CommWork {
public:
    virtual ~CommWork() = default;
    virtual void wait() = 0;
};

/// A process group of `size` ranks.
class CommGroup {
public:
    /// backend "gloo" (CPU tensors) or "nccl" (CUDA tensors; throws when this LibTorch has no
    /// NCCL). The store is wrapped in a prefix of its own. Gloo binds to glooInterface when
    /// set (GLOO_SOCKET_IFNAME), else to the address glooHost resolves to. `timeout` bounds every
    /// collective: a peer that hangs longer makes it throw.
    static std::unique_ptr<CommGroup> create(const std::string& backend, std::shared_ptr<CommStore> store,
                                             int rank, int size, std::chrono::milliseconds timeout,
                                             const std::string& glooHost, const std::string& glooInterface);
    virtual ~CommGroup() = default;
    /// In-place sum over ranks of a contiguous tensor.
    virtual std::shared_ptr<CommWork> allreduceSum(at::Tensor& tensor) = 0;
    /// In place: every rank receives root's tensor.
    virtual std::shared_ptr<CommWork> broadcast(at::Tensor& tensor, int root) = 0;
    virtual std::string backend() const = 0;
};

/// Whether this LibTorch was built with c10d's NCCL process group (official CUDA builds).
bool ncclAvailable();

}  // namespace mts::compat
