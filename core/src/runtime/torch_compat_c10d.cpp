#include "runtime/torch_compat_c10d.h"

#include <stdexcept>
#include <vector>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>

// NCCL's process group comes with official CUDA builds of LibTorch only, and its header needs
// nccl.h; Debian's 1.13 defines USE_C10D_GLOO but not USE_C10D_NCCL.
#if defined(USE_C10D_NCCL) && __has_include(<nccl.h>) && \
    __has_include(<torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define MTS_HAVE_NCCL 1
#else
#define MTS_HAVE_NCCL 0
#endif

namespace mts::compat {

namespace {

std::string firstLine(const char* what) {
    std::string s = what;
    if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
    return s;
}

template <class F>
auto rethrowPlain(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const std::exception& e) {
        throw std::runtime_error(firstLine(e.what()));
    }
}

class WorkOf : public CommWork {
public:
    explicit WorkOf(c10::intrusive_ptr<c10d::Work> w) : m_work(std::move(w)) {}
    // Gloo and NCCL both rethrow the collective's error from wait(); the group's timeout
    // (set at creation) bounds it.
    void wait() override {
        rethrowPlain([&] { return m_work->wait(); });
    }

private:
    c10::intrusive_ptr<c10d::Work> m_work;
};

// Gloo and NCCL share the ProcessGroup-style calls used here in 1.13 and 2.x (in 2.x both are
// c10d::Backend subclasses; in 1.13 ProcessGroup subclasses).
template <class PG>
class GroupOf : public CommGroup {
public:
    GroupOf(c10::intrusive_ptr<PG> pg, std::string name) : m_pg(std::move(pg)), m_name(std::move(name)) {}
    std::shared_ptr<CommWork> allreduceSum(at::Tensor& tensor) override {
        return rethrowPlain([&] {
            std::vector<at::Tensor> list{tensor};
            c10d::AllreduceOptions opts;
            opts.reduceOp = c10d::ReduceOp::SUM;
            return std::shared_ptr<CommWork>(std::make_shared<WorkOf>(m_pg->allreduce(list, opts)));
        });
    }
    std::shared_ptr<CommWork> broadcast(at::Tensor& tensor, int root) override {
        return rethrowPlain([&] {
            std::vector<at::Tensor> list{tensor};
            c10d::BroadcastOptions opts;
            opts.rootRank = root;
            return std::shared_ptr<CommWork>(std::make_shared<WorkOf>(m_pg->broadcast(list, opts)));
        });
    }
    std::string backend() const override { return m_name; }

private:
    c10::intrusive_ptr<PG> m_pg;
    std::string m_name;
};

}  // namespace

struct CommStore::Impl {
    c10::intrusive_ptr<c10d::TCPStore> store;
};

std::shared_ptr<CommStore> CommStore::tcp(const std::string& host, uint16_t port, bool isServer,
                                          std::chrono::milliseconds timeout) {
    return rethrowPlain([&] {
        c10d::TCPStoreOptions opts;
        opts.port = port;
        opts.isServer = isServer;
        opts.waitWorkers = false;  // the ranks count themselves in (distributed.cpp)
        opts.timeout = timeout;
        auto s = std::make_shared<CommStore>();
        s->m_impl = std::make_unique<Impl>();
        s->m_impl->store = c10::make_intrusive<c10d::TCPStore>(host, opts);
        return s;
    });
}

CommStore::~CommStore() = default;

uint16_t CommStore::port() const { return m_impl->store->getPort(); }

void CommStore::set(const std::string& key, const std::string& value) {
    rethrowPlain([&] {
        m_impl->store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
        return 0;
    });
}

std::string CommStore::get(const std::string& key) {
    return rethrowPlain([&] {
        auto v = m_impl->store->get(key);
        return std::string(v.begin(), v.end());
    });
}

int64_t CommStore::add(const std::string& key, int64_t delta) {
    return rethrowPlain([&] { return m_impl->store->add(key, delta); });
}

std::unique_ptr<CommGroup> CommGroup::create(const std::string& backend, std::shared_ptr<CommStore> store, int rank,
                                             int size, std::chrono::milliseconds timeout, const std::string& glooHost,
                                             const std::string& glooInterface) {
    return rethrowPlain([&]() -> std::unique_ptr<CommGroup> {
        // A prefix of our own keeps the group's keys apart from the rendezvous keys.
        c10::intrusive_ptr<c10d::Store> prefixed =
            c10::make_intrusive<c10d::PrefixStore>("mts/pg", c10::intrusive_ptr<c10d::Store>(store->m_impl->store));
        if (backend == "gloo") {
            auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
            // An empty device list throws "No device(s) specified"; createDefaultDevice would bind
            // to what the hostname resolves to (127.0.1.1 on Debian), useless across machines.
            opts->devices.push_back(glooInterface.empty()
                                        ? c10d::ProcessGroupGloo::createDeviceForHostname(glooHost)
                                        : c10d::ProcessGroupGloo::createDeviceForInterface(glooInterface));
            auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, size, opts);
            return std::make_unique<GroupOf<c10d::ProcessGroupGloo>>(std::move(pg), "gloo");
        }
        if (backend == "nccl") {
#if MTS_HAVE_NCCL
            auto opts = c10d::ProcessGroupNCCL::Options::create();
            opts->timeout = timeout;
            auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, rank, size, opts);
            return std::make_unique<GroupOf<c10d::ProcessGroupNCCL>>(std::move(pg), "nccl");
#else
            throw std::runtime_error("this LibTorch (" TORCH_VERSION
                                     ") was built without NCCL: use the gloo backend (CPU tensors)");
#endif
        }
        throw std::runtime_error("unknown process-group backend '" + backend + "' (gloo or nccl)");
    });
}

bool ncclAvailable() { return MTS_HAVE_NCCL != 0; }

}  // namespace mts::compat
