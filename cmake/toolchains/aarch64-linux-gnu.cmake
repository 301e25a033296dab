# Cross toolchain: Linux on AArch64 (arm64) with Debian's g++-aarch64-linux-gnu.
#
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DCMAKE_BUILD_TYPE=Release -DFASTERNET_BUILD_BENCHMARKS=OFF -DGTest_DIR=<aarch64 GoogleTest>/lib/cmake/GTest
#
# cmake/arm64.sh does all of it, including building GoogleTest for the target
# (Debian's libgtest-dev is built for the host only). Test programs run under
# qemu-aarch64 through CMAKE_CROSSCOMPILING_EMULATOR, so CTest works unchanged.
# The NEON kernel set needs no extra flags: every AArch64 CPU has Advanced SIMD.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(FASTERNET_CROSS_TRIPLE aarch64-linux-gnu)
set(FASTERNET_CROSS_SYSROOT /usr/${FASTERNET_CROSS_TRIPLE})

set(CMAKE_C_COMPILER ${FASTERNET_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${FASTERNET_CROSS_TRIPLE}-g++)

# Target libraries and headers only; programs (cmake, python) still come from the host.
set(CMAKE_FIND_ROOT_PATH ${FASTERNET_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# BOTH, so an explicitly given GTest_DIR (a host path holding target libraries) is honoured.
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# Run target programs (tests, GoogleTest discovery, the end-to-end driver) under user-mode QEMU.
find_program(FASTERNET_QEMU_AARCH64 qemu-aarch64)
if(FASTERNET_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FASTERNET_QEMU_AARCH64} -L ${FASTERNET_CROSS_SYSROOT})
endif()
