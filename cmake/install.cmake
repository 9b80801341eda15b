# Install rules: headers, the versioned shared library, a relocatable CMake package
# (find_package(BaracudaFlashInfer CONFIG) -> BaracudaFlashInfer::baracuda_flashinfer) and a
# relocatable pkg-config file (baracuda_flashinfer.pc). Included once from CMakeLists.txt after
# the baracuda_flashinfer target is defined; location-independent (tests/common.cmake includes it
# too, as a no-op when CMakeLists.txt already did).
include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(BFI_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/BaracudaFlashInfer" CACHE STRING
    "Where the CMake package files go (relative to the install prefix)")
set(BFI_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig" CACHE STRING
    "Where baracuda_flashinfer.pc goes (relative to the install prefix)")

install(TARGETS baracuda_flashinfer EXPORT BaracudaFlashInferTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/baracuda/flashinfer.h
              ${PROJECT_SOURCE_DIR}/include/baracuda/flashinfer.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/baracuda)

# CMake package: targets file + config + version (SameMajorVersion, as the SONAME promises).
install(EXPORT BaracudaFlashInferTargets NAMESPACE BaracudaFlashInfer::
        DESTINATION ${BFI_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/BaracudaFlashInferConfig.cmake.in
  ${PROJECT_BINARY_DIR}/BaracudaFlashInferConfig.cmake
  INSTALL_DESTINATION ${BFI_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/BaracudaFlashInferConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/BaracudaFlashInferConfig.cmake
              ${PROJECT_BINARY_DIR}/BaracudaFlashInferConfigVersion.cmake
        DESTINATION ${BFI_INSTALL_CMAKEDIR})

# pkg-config: prefix is derived from ${pcfiledir}, so the tree can be moved after installing.
if(IS_ABSOLUTE "${BFI_INSTALL_PKGCONFIGDIR}")
  set(BFI_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")  # not relocatable: an absolute directory was asked
  set(BFI_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(BFI_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH bfi_pc_up "/prefix/${BFI_INSTALL_PKGCONFIGDIR}" "/prefix")
  string(REGEX REPLACE "/$" "" bfi_pc_up "${bfi_pc_up}")
  set(BFI_PC_PREFIX "\${pcfiledir}/${bfi_pc_up}")
  set(BFI_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(BFI_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/baracuda_flashinfer.pc.in
               ${PROJECT_BINARY_DIR}/baracuda_flashinfer.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/baracuda_flashinfer.pc DESTINATION ${BFI_INSTALL_PKGCONFIGDIR})

# pkg-config for the build tree, never installed: pkg-config prefers
# baracuda_flashinfer-uninstalled.pc to baracuda_flashinfer.pc in the same directory, so
# PKG_CONFIG_PATH=<build dir> finds this build's library and the source tree's headers (the
# install-style .pc beside it points at an install prefix). The Rust -sys crate uses it.
set(BFI_PC_PREFIX "${PROJECT_BINARY_DIR}")
set(BFI_PC_LIBDIR "$<TARGET_FILE_DIR:baracuda_flashinfer>")
set(BFI_PC_INCLUDEDIR "${PROJECT_SOURCE_DIR}/include")
configure_file(${PROJECT_SOURCE_DIR}/cmake/baracuda_flashinfer.pc.in
               ${PROJECT_BINARY_DIR}/baracuda_flashinfer-uninstalled.pc.in @ONLY)
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/baracuda_flashinfer-uninstalled.pc
     INPUT ${PROJECT_BINARY_DIR}/baracuda_flashinfer-uninstalled.pc.in)
