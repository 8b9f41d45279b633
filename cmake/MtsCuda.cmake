# The fused CUDA kernels (core/src/kernels/cuda: *.cu + kernels_cuda.cpp) are compiled only when
# the LibTorch found has CUDA; otherwise cuda_absent.cpp stands in (ScanBackend::Cuda throws
# "built without CUDA"). MTS_CUDA: AUTO (default: follow the LibTorch), ON (fail without a CUDA
# LibTorch), OFF. The architectures default to sm_80 and sm_90 (A100, H100/H200); set
# CMAKE_CUDA_ARCHITECTURES to change them. Included after find_package(Torch).
set(MTS_CUDA "AUTO" CACHE STRING "Build the fused CUDA kernels: AUTO (when LibTorch has CUDA), ON or OFF")
set(MTS_CUDA_ENABLED OFF)
if(NOT MTS_CUDA STREQUAL "OFF")
  if(TORCH_CUDA_LIBRARIES OR CAFFE2_USE_CUDA)
    set(MTS_CUDA_ENABLED ON)
  elseif(MTS_CUDA STREQUAL "ON")
    message(FATAL_ERROR "MTS_CUDA=ON, but the LibTorch found (${Torch_DIR}) has no CUDA: "
                        "use an official CUDA LibTorch (scripts/find-cuda-libtorch.sh)")
  endif()
endif()
if(MTS_CUDA_ENABLED)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80;90")
  endif()
  # One CUDA runtime in the process: the shared one LibTorch uses.
  set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  message(STATUS "CUDA kernels: ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES})")
else()
  message(STATUS "CUDA kernels: OFF (the LibTorch found has no CUDA, or MTS_CUDA=OFF)")
endif()

# mts_cuda_sources(<var>): drops from the core source list <var> the variant not built:
# kernels_cuda.cpp without CUDA, cuda_absent.cpp with it.
function(mts_cuda_sources var)
  set(_srcs ${${var}})
  if(MTS_CUDA_ENABLED)
    list(FILTER _srcs EXCLUDE REGEX "/kernels/cuda/cuda_absent\\.cpp$")
  else()
    list(FILTER _srcs EXCLUDE REGEX "/kernels/cuda/kernels_cuda\\.cpp$")
  endif()
  set(${var} ${_srcs} PARENT_SCOPE)
endfunction()

# mts_cuda_kernels(<target>): with CUDA, compiles the .cu files (their own flags: nvcc takes no
# -Wall) into an object library linked into <target>, with the CUDA runtime.
function(mts_cuda_kernels target)
  if(NOT MTS_CUDA_ENABLED)
    return()
  endif()
  file(GLOB _cu CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/core/src/kernels/cuda/*.cu)
  add_library(mts_cuda_kernels OBJECT ${_cu})
  set_target_properties(mts_cuda_kernels PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON
                                                    POSITION_INDEPENDENT_CODE ON)
  target_compile_options(mts_cuda_kernels PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>)
  target_link_libraries(${target} PRIVATE mts_cuda_kernels PUBLIC CUDA::cudart)
endfunction()
