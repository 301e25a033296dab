# Sanitizer and fuzzing builds (./build.sh test-sanitize, fuzz/run.sh).
#   -DFASTERNET_SANITIZE=address,undefined   ASan + UBSan on every object (plus libFuzzer's coverage
#                                            hooks with clang, so the same tree builds the fuzzers)
#   -DFASTERNET_SANITIZE=thread              ThreadSanitizer
#   -DFASTERNET_BUILD_FUZZERS=ON             the libFuzzer targets in fuzz/native (clang only)
set(FASTERNET_SANITIZE "" CACHE STRING "Sanitizers to build with (address,undefined | thread)")
option(FASTERNET_BUILD_FUZZERS "Build the libFuzzer targets (clang)" OFF)

if(FASTERNET_SANITIZE)
  # -O1 as the sanitizers' documentation recommends (fast enough to run the tests, nothing the checks rely
  # on optimized away), line tables only: enough for symbolized stack traces at a fraction of full -g.
  set(_flags -fsanitize=${FASTERNET_SANITIZE} -fno-omit-frame-pointer -O1 -gline-tables-only)
  if(FASTERNET_SANITIZE MATCHES "undefined")
    # Every UB report fails the run instead of printing and carrying on.
    list(APPEND _flags -fno-sanitize-recover=undefined)
  endif()
  if(FASTERNET_BUILD_FUZZERS AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    list(APPEND _flags -fsanitize=fuzzer-no-link)
  endif()
  add_compile_options(${_flags})
  add_link_options(-fsanitize=${FASTERNET_SANITIZE})
  # The SIMD kernel folders instantiate every register tile (rows x panels) of every driver; with the
  # sanitizers' checks on each load, store and pointer step, clang-14's optimizer takes over 7 CPU-minutes
  # and 1.5 GB on x86_avx512/conv.cpp alone at -O1 or -O2. Unoptimized they compile several times faster;
  # the same instantiations are built and tested, each access still checked. (Appended after the ISA flags,
  # so this -O0 is the last -O on their command lines.)
  foreach(_isa FASTERNET_AVX512_FLAGS FASTERNET_AVX2_FLAGS FASTERNET_AVX512_BF16_FLAGS FASTERNET_AMX_BF16_FLAGS)
    list(APPEND ${_isa} -O0)
  endforeach()
endif()
