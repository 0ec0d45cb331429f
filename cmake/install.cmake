# `cmake --install` puts the MCP SDK where other CMake projects find it:
#   <prefix>/lib/libidp_{core,http,mcp,auth}.a, <prefix>/include/idp/{core,http,mcp,auth}/*.h,
#   <prefix>/lib/cmake/idp_mcp/ (find_package(idp_mcp CONFIG) -> idp::mcp, idp::auth, ...),
#   <prefix>/lib/pkgconfig/idp_mcp.pc.
# All of it is the install component `sdk` (`cmake --install build --component sdk`);
# tests/integration/find_package_test.sh builds examples/mcp-server against such a prefix.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_idp_sdk_targets idp_core idp_http idp_mcp idp_auth)
foreach(_t IN LISTS _idp_sdk_targets)
  string(REPLACE "idp_" "" _export_name ${_t})
  set_target_properties(${_t} PROPERTIES EXPORT_NAME ${_export_name})
endforeach()
# The headers were compiled with it; users must see the same Asio declarations.
target_compile_definitions(idp_core INTERFACE BOOST_ASIO_NO_DEPRECATED)
# Static libraries carry their private link dependencies into the export as link-only entries,
# so the warning flags' (empty for users) interface target is exported too.
set_target_properties(idp_warnings PROPERTIES EXPORT_NAME warnings)

install(TARGETS ${_idp_sdk_targets} idp_warnings EXPORT idp_mcpTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sdk
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sdk
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(_module core http mcp auth)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/idp/${_module}
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/idp COMPONENT sdk FILES_MATCHING PATTERN "*.h")
endforeach()

set(_idp_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/idp_mcp)
install(EXPORT idp_mcpTargets NAMESPACE idp:: DESTINATION ${_idp_cmake_dir} COMPONENT sdk)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/idp_mcpConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/idp_mcpConfig.cmake
                              INSTALL_DESTINATION ${_idp_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/idp_mcpConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/idp_mcpConfig.cmake ${PROJECT_BINARY_DIR}/idp_mcpConfigVersion.cmake
        DESTINATION ${_idp_cmake_dir} COMPONENT sdk)

# The .pc file finds the prefix relative to itself, so the install tree can move.
file(RELATIVE_PATH IDP_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" IDP_PC_TO_PREFIX "${IDP_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/idp_mcp.pc.in ${PROJECT_BINARY_DIR}/idp_mcp.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/idp_mcp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT sdk)
