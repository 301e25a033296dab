# Compiler flags. The shipped library never uses -march=native: each ISA's
# kernel files get their own target flags and are picked at run time.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  set(FASTERNET_ARCH x86_64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64|ARM64")
  set(FASTERNET_ARCH aarch64)
else()
  set(FASTERNET_ARCH generic)
endif()

set(FASTERNET_AVX512_FLAGS -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mavx2)
set(FASTERNET_AVX2_FLAGS -mavx2 -mfma)
set(FASTERNET_AVX512_BF16_FLAGS ${FASTERNET_AVX512_FLAGS} -mavx512bf16)
set(FASTERNET_AMX_BF16_FLAGS ${FASTERNET_AVX512_BF16_FLAGS} -mamx-tile -mamx-bf16)

if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  add_compile_options(-Wall -Wextra -Wno-unused-parameter)
  # Reference kernels stay plain loops: no fast-math anywhere, results must match PyTorch.
  add_compile_options(-fno-fast-math -ffp-contract=off)
endif()

# Adds the per-ISA flags to every source file under a kernel folder.
function(fasternet_isa_sources out_var folder)
  file(GLOB sources CONFIGURE_DEPENDS ${folder}/*.cpp)
  set(${out_var} ${sources} PARENT_SCOPE)
endfunction()
