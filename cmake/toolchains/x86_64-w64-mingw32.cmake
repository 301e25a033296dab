# Cross toolchain: Windows x64 with Debian's g++-mingw-w64-x86-64-posix (OpenMP included).
#
#   cmake -S . -B build/win-x64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/x86_64-w64-mingw32.cmake \
#         -DCMAKE_BUILD_TYPE=Release -DFASTERNET_BUILD_BENCHMARKS=OFF
#
# cmake/win-x64.sh does all of it (GoogleTest for the target included). The DLL is linked
# statically (libstdc++, libgcc, winpthread and libgomp), so it imports only system DLLs
# (KERNEL32.dll, msvcrt.dll) and nothing has to be shipped beside it. Its name keeps the lib
# prefix, libfasternet.dll: a native fasternet.dll would collide with the managed FasterNet.dll
# in a publish folder, Windows file names ignore case. Test programs run under wine64 through
# CMAKE_CROSSCOMPILING_EMULATOR, so CTest works unchanged.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(FASTERNET_CROSS_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${FASTERNET_CROSS_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${FASTERNET_CROSS_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${FASTERNET_CROSS_TRIPLE}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${FASTERNET_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# FindOpenMP would pick libgomp.dll.a (a libgomp-1.dll import): name the static archive instead.
file(GLOB FASTERNET_MINGW_GOMP /usr/lib/gcc/${FASTERNET_CROSS_TRIPLE}/*-posix/libgomp.a)
if(FASTERNET_MINGW_GOMP)
  list(GET FASTERNET_MINGW_GOMP 0 FASTERNET_MINGW_GOMP)
  set(OpenMP_gomp_LIBRARY ${FASTERNET_MINGW_GOMP} CACHE FILEPATH "static libgomp" FORCE)
endif()

# GCC keeps the Windows x64 stack 16-byte aligned only, yet spills AVX registers with aligned moves
# (vmovaps/vmovdqa, 32 or 64 bytes): a crash whenever a spill lands off alignment. The assembler turns
# every aligned vector move into its unaligned twin, which costs nothing on aligned addresses.
set(CMAKE_C_FLAGS_INIT "-Wa,-muse-unaligned-vector-move")
set(CMAKE_CXX_FLAGS_INIT "-Wa,-muse-unaligned-vector-move")

# Everything static: the DLL and the test programs import only system DLLs.
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")

find_program(FASTERNET_WINE64 NAMES wine64 wine PATHS /usr/lib/wine)
if(FASTERNET_WINE64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FASTERNET_WINE64})
endif()
