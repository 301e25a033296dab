# Sanitizer and fuzzing builds (./build.sh test-sanitize, fuzz/run.sh).
#   -DFASTERNET_SANITIZE=address,undefined   ASan + UBSan on every object (plus libFuzzer's coverage
#                                            hooks with clang, so the same tree builds the fuzzers)
#   -DFASTERNET_SANITIZE=thread              ThreadSanitizer
#   -DFASTERNET_BUILD_FUZZERS=ON             the libFuzzer targets in fuzz/native (clang only)
set(FASTERNET_SANITIZE "" CACHE STRING "Sanitizers to build with (address,undefined | thread)")
option(FASTERNET_BUILD_FUZZERS "Build the libFuzzer targets (clang)" OFF)

if(FASTERNET_SANITIZE)
  set(_flags -fsanitize=${FASTERNET_SANITIZE} -fno-omit-frame-pointer -g)
  if(FASTERNET_SANITIZE MATCHES "undefined")
    # Every UB report fails the run instead of printing and carrying on.
    list(APPEND _flags -fno-sanitize-recover=undefined)
  endif()
  if(FASTERNET_BUILD_FUZZERS AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    list(APPEND _flags -fsanitize=fuzzer-no-link)
  endif()
  add_compile_options(${_flags})
  add_link_options(-fsanitize=${FASTERNET_SANITIZE})
endif()
