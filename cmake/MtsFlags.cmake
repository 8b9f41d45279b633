# Shared compile flags and warnings, as one INTERFACE target every module links.
add_library(mts_flags INTERFACE)
target_compile_features(mts_flags INTERFACE cxx_std_17)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(mts_flags INTERFACE -Wall -Wextra -Wno-unused-parameter)
  if(MTS_WARNINGS_AS_ERRORS)
    target_compile_options(mts_flags INTERFACE -Werror)
  endif()
endif()

# Sanitizer builds (the asan / tsan presets set MTS_SANITIZE).
set(MTS_SANITIZE "" CACHE STRING "Sanitizer to build with: address, thread, undefined or empty")
if(MTS_SANITIZE)
  target_compile_options(mts_flags INTERFACE -fsanitize=${MTS_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(mts_flags INTERFACE -fsanitize=${MTS_SANITIZE})
endif()

# Sources of a module: every .cpp under its src/ folder, so adding a file needs no CMake edit.
function(mts_glob_sources out dir)
  file(GLOB_RECURSE _srcs CONFIGURE_DEPENDS ${dir}/*.cpp)
  set(${out} ${_srcs} PARENT_SCOPE)
endfunction()
