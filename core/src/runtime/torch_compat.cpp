#include "mts/core/runtime/torch_compat.h"

#include <cstdio>

#include <dlfcn.h>

#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

namespace mts::compat {

namespace {

// LibTorch 2.4 made the autocast API device-generic and deprecated the per-device calls.
#if MTS_TORCH_AT_LEAST(2, 4)
bool isEnabled(c10::DeviceType d) { return at::autocast::is_autocast_enabled(d); }
void setEnabled(c10::DeviceType d, bool on) { at::autocast::set_autocast_enabled(d, on); }
at::ScalarType getDtype(c10::DeviceType d) { return at::autocast::get_autocast_dtype(d); }
void setDtype(c10::DeviceType d, at::ScalarType t) { at::autocast::set_autocast_dtype(d, t); }
#else
bool isEnabled(c10::DeviceType d) {
    return d == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
void setEnabled(c10::DeviceType d, bool on) {
    if (d == c10::DeviceType::CUDA) at::autocast::set_enabled(on);
    else at::autocast::set_cpu_enabled(on);
}
at::ScalarType getDtype(c10::DeviceType d) {
    return d == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                      : at::autocast::get_autocast_cpu_dtype();
}
void setDtype(c10::DeviceType d, at::ScalarType t) {
    if (d == c10::DeviceType::CUDA) at::autocast::set_autocast_gpu_dtype(t);
    else at::autocast::set_autocast_cpu_dtype(t);
}
#endif

c10::DeviceType autocastDevice(c10::DeviceType d) {
    return d == c10::DeviceType::CUDA ? c10::DeviceType::CUDA : c10::DeviceType::CPU;
}

}  // namespace

AutocastGuard::AutocastGuard(c10::DeviceType device, at::ScalarType dtype, bool enabled)
    : m_device(autocastDevice(device)), m_enabled(enabled) {
    if (!m_enabled) return;
    m_prevEnabled = isEnabled(m_device);
    m_prevDtype = getDtype(m_device);
    setDtype(m_device, dtype);
    setEnabled(m_device, true);
}

AutocastGuard::~AutocastGuard() {
    if (!m_enabled) return;
    setEnabled(m_device, m_prevEnabled);
    setDtype(m_device, m_prevDtype);
    // Cached casts of weights are only valid inside one region.
    at::autocast::clear_cache();
}

AutocastOff::AutocastOff()
    : m_cpu(isEnabled(c10::DeviceType::CPU)), m_cuda(isEnabled(c10::DeviceType::CUDA)) {
    if (m_cpu) setEnabled(c10::DeviceType::CPU, false);
    if (m_cuda) setEnabled(c10::DeviceType::CUDA, false);
}

AutocastOff::~AutocastOff() {
    if (m_cpu) setEnabled(c10::DeviceType::CPU, true);
    if (m_cuda) setEnabled(c10::DeviceType::CUDA, true);
}

std::pair<bool, at::ScalarType> autocastState(c10::DeviceType device) {
    auto d = autocastDevice(device);
    return {isEnabled(d), getDtype(d)};
}

namespace {

// 1.13 and 2.x share FunctionPostHook's (outputs, inputs) call and Node::add/del_post_hook.
class ReadyHook : public torch::autograd::FunctionPostHook {
public:
    explicit ReadyHook(std::function<void()> f) : m_f(std::move(f)) {}
    torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                              const torch::autograd::variable_list& /*inputs*/) override {
        m_f();
        return outputs;
    }

private:
    std::function<void()> m_f;
};

struct HookHandle {
    std::shared_ptr<torch::autograd::Node> node;
    uintptr_t key = 0;
    ~HookHandle() { node->del_post_hook(key); }
};

}  // namespace

std::shared_ptr<void> onGradAccumulated(const at::Tensor& param, std::function<void()> ready) {
    auto handle = std::make_shared<HookHandle>();
    handle->node = torch::autograd::impl::grad_accumulator(param);
    if (!handle->node) throw std::runtime_error("onGradAccumulated: not a leaf tensor that requires grad");
    handle->key = handle->node->add_post_hook(std::make_unique<ReadyHook>(std::move(ready)));
    return handle;
}

bool cudaAvailable() { return torch::cuda::is_available(); }

std::string cudaDeviceDescription(int index, int64_t& totalBytes) {
    totalBytes = 0;
    // The driver API's C entry points (cuda.h), declared here by their documented signatures.
    using InitFn = int (*)(unsigned);
    using GetFn = int (*)(int*, int);
    using NameFn = int (*)(char*, int, int);
    using MemFn = int (*)(size_t*, int);
    void* lib = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!lib) return "";
    auto init = reinterpret_cast<InitFn>(::dlsym(lib, "cuInit"));
    auto get = reinterpret_cast<GetFn>(::dlsym(lib, "cuDeviceGet"));
    auto name = reinterpret_cast<NameFn>(::dlsym(lib, "cuDeviceGetName"));
    auto mem = reinterpret_cast<MemFn>(::dlsym(lib, "cuDeviceTotalMem_v2"));
    std::string out;
    int dev = 0;
    char buf[256] = {};
    if (init && get && name && init(0) == 0 && get(&dev, index) == 0 && name(buf, sizeof(buf) - 1, dev) == 0) {
        out = buf;
        size_t bytes = 0;
        if (mem && mem(&bytes, dev) == 0) {
            totalBytes = static_cast<int64_t>(bytes);
            char gib[32];
            std::snprintf(gib, sizeof(gib), ", %.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
            out += gib;
        }
    }
    // The library stays loaded: LibTorch's CUDA runtime uses the same driver.
    return out;
}

}  // namespace mts::compat
