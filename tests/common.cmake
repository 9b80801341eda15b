# C++ layer, ABI and packaging tests (all host-only, label host). Included by
# tests/CMakeLists.txt.
set(bfi_include ${PROJECT_SOURCE_DIR}/include)

# The install rules the consumer test needs (a no-op when CMakeLists.txt included them already).
include(${PROJECT_SOURCE_DIR}/cmake/install.cmake)

function(bfi_add_host_command_test name)
  add_test(NAME ${name} COMMAND ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS host)
endfunction()

# --- Headers compile alone -----------------------------------------------------------------
bfi_add_host_command_test(test_abi_header_c99 ${CMAKE_C_COMPILER} -std=c99 -pedantic -Wall
  -Wextra -Werror -fsyntax-only -x c ${bfi_include}/baracuda/flashinfer.h)
bfi_add_host_command_test(test_abi_header_cxx ${CMAKE_CXX_COMPILER} -std=c++11 -pedantic -Wall
  -Wextra -Werror -fsyntax-only -x c++ ${bfi_include}/baracuda/flashinfer.h)
bfi_add_host_command_test(test_cpp_header_alone ${CMAKE_CXX_COMPILER} -std=c++17 -pedantic
  -Wall -Wextra -Wshadow -Werror -fsyntax-only -I${bfi_include} -x c++
  ${bfi_include}/baracuda/flashinfer.hpp)
bfi_add_host_command_test(test_cpp_header_noexcept ${CMAKE_CXX_COMPILER} -std=c++17 -pedantic
  -Wall -Wextra -Wshadow -Werror -fno-exceptions -fsyntax-only -I${bfi_include} -x c++
  ${bfi_include}/baracuda/flashinfer.hpp)

# --- The C++ layer (the tests replace the C runs: see tests/cpp_fakes.hpp) ------------------
bfi_add_test(NAME test_cpp_decode SOURCES test_cpp_decode.cpp)
bfi_add_test(NAME test_cpp_decode_noexcept SOURCES test_cpp_decode.cpp)
target_compile_options(test_cpp_decode_noexcept PRIVATE -fno-exceptions)
bfi_add_test(NAME test_cpp_families SOURCES test_cpp_families.cpp)
bfi_add_test(NAME test_cpp_families_noexcept SOURCES test_cpp_families.cpp)
target_compile_options(test_cpp_families_noexcept PRIVATE -fno-exceptions)

# --- Exported symbols == abi/exports.txt == the header's declarations -------------------------
bfi_add_host_command_test(test_abi_exports bash ${CMAKE_CURRENT_SOURCE_DIR}/test_abi_exports.sh
  $<TARGET_FILE:baracuda_flashinfer> ${bfi_include}/baracuda/flashinfer.h
  ${PROJECT_SOURCE_DIR}/abi/exports.txt ${CMAKE_C_COMPILER})
# --- Every signature and stability tier == the baseline abi/signatures.h ---------------------
bfi_add_host_command_test(test_abi_signatures bash ${PROJECT_SOURCE_DIR}/abi/check_signatures.sh
  ${CMAKE_C_COMPILER} ${bfi_include} ${PROJECT_SOURCE_DIR}/abi)

# --- install -> relocate -> CMake and pkg-config consumers ------------------------------------
find_program(BFI_PKG_CONFIG pkg-config)
if(BFI_PKG_CONFIG)
  bfi_add_host_command_test(test_abi_consumer bash ${CMAKE_CURRENT_SOURCE_DIR}/consumer/run.sh
    ${PROJECT_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/consumer
    ${CMAKE_CURRENT_BINARY_DIR}/consumer-work ${CMAKE_COMMAND} ${CMAKE_GENERATOR}
    ${CMAKE_C_COMPILER} ${CMAKE_CXX_COMPILER})
  set_tests_properties(test_abi_consumer PROPERTIES RUN_SERIAL ON)
endif()

# --- Rust crates: cargo test --offline against this build's library -------------------------
# One workspace (bindings/rust), one test per crate. No LD_LIBRARY_PATH: the -sys crate links the
# library through symlinks in OUT_DIR and an rpath. The safe crate's GPU tests are #[ignore]d and
# reported as ignored here; tools/rust_gpu_build.sh builds them for a GPU machine.
find_program(BFI_CARGO cargo HINTS $ENV{HOME}/.cargo/bin)
if(BFI_CARGO)
  function(bfi_add_cargo_test name package)
    bfi_add_host_command_test(${name} ${CMAKE_COMMAND} -E env
      BARACUDA_FLASHINFER_LIB_DIR=$<TARGET_FILE_DIR:baracuda_flashinfer>
      CARGO_TARGET_DIR=${CMAKE_CURRENT_BINARY_DIR}/cargo-target
      ${BFI_CARGO} test --offline --quiet -p ${package}
      --manifest-path ${PROJECT_SOURCE_DIR}/bindings/rust/Cargo.toml)
  endfunction()
  bfi_add_cargo_test(test_rust_sys baracuda-flashinfer-sys)
  bfi_add_cargo_test(test_rust baracuda-flashinfer)
else()
  message(STATUS "cargo not found: the Rust crate tests are not registered")
endif()

# --- Rust bindings == the C header (also checked inside cargo test) ---------------------------
find_program(BFI_PYTHON3 python3)
if(BFI_PYTHON3)
  bfi_add_host_command_test(test_rust_bindings_sync ${BFI_PYTHON3}
    ${PROJECT_SOURCE_DIR}/bindings/rust/baracuda-flashinfer-sys/gen_bindings.py --check
    --cc ${CMAKE_C_COMPILER})
endif()
