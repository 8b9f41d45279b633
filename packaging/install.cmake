# Install rules and Debian package metadata (CPack DEB). Included from the top-level
# CMakeLists.txt; the executables install themselves in app/CMakeLists.txt.
include(GNUInstallDirs)

if(MTS_BUILD_UI)
  install(FILES ${CMAKE_CURRENT_LIST_DIR}/mamba-studio.desktop
          DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
  install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/mamba-studio.svg
          DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/docs/
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/guide)
if(EXISTS ${PROJECT_SOURCE_DIR}/resources/presets)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/presets/
          DESTINATION ${CMAKE_INSTALL_DATADIR}/mamba-studio/presets)
endif()

set(CPACK_PACKAGE_NAME "mamba-studio")
set(CPACK_PACKAGE_VENDOR "Mamba Studio contributors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Train small Mamba and Transformer language models on your own files")
set(CPACK_PACKAGE_DESCRIPTION
    "A Qt desktop studio and a command-line tool to build token corpora from folders, git repositories and PDFs, train Mamba (selective state-space) and Transformer language models from scratch with live plots, chat with the result, and compare runs.")
set(CPACK_PACKAGE_CONTACT "maintainers@mamba-studio.invalid")
set(CPACK_GENERATOR "DEB")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-openmp")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/mamba-studio")
set(CPACK_STRIP_FILES ON)
include(CPack)
