# baton_cmocka_cases(EXE SRC LABEL TIMEOUT [PROPERTY VALUE ...])
#
# Registers every cmocka_unit_test*(case) that SRC names as its own ctest
# test "EXE-without-_test.case", run as `EXE case` (the test's main passes
# argv[1] to cmocka_set_test_filter), with LABEL, TIMEOUT and any further
# test properties. A file that names no case is a configuration error.
function(baton_cmocka_cases exe src label timeout)
  string(REGEX REPLACE "_test$" "" module ${exe})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
  file(STRINGS ${src} lines REGEX "cmocka_unit_test[a-z_]*\\([A-Za-z0-9_]+")
  set(count 0)
  foreach(line IN LISTS lines)
    string(REGEX MATCHALL "cmocka_unit_test[a-z_]*\\([A-Za-z0-9_]+" calls "${line}")
    foreach(call IN LISTS calls)
      string(REGEX REPLACE "cmocka_unit_test[a-z_]*\\(" "" case "${call}")
      add_test(NAME ${module}.${case} COMMAND ${exe} ${case})
      set_tests_properties(${module}.${case} PROPERTIES LABELS "${label}" TIMEOUT ${timeout} ${ARGN})
      math(EXPR count "${count} + 1")
    endforeach()
  endforeach()
  if(count EQUAL 0)
    message(FATAL_ERROR "${src} names no cmocka_unit_test case")
  endif()
endfunction()

# baton_unit_test(MODULE [LIBS ...])
#
# Builds tests/unit/MODULE_test.c against the core and registers each of
# its cases as ctest test "MODULE.case" (label unit). A reader finds the
# test of src/core/cmap.c at tests/unit/cmap_test.c, and ctest lists every
# case by name.
function(baton_unit_test module)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  set(src ${PROJECT_SOURCE_DIR}/tests/unit/${module}_test.c)
  add_executable(${module}_test ${src})
  target_include_directories(${module}_test PRIVATE ${PROJECT_SOURCE_DIR}/src
                             ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${module}_test PRIVATE ${ARG_LIBS} baton_test_support baton_core
                        PkgConfig::CMOCKA)
  baton_cmocka_cases(${module}_test ${src} unit 120)
endfunction()

# baton_runtime_test(MODULE [LIBS ...])
#
# Like baton_unit_test, for tests of the runtime and the public API:
# tests/integration/MODULE_test.c linked against libbaton (static), each
# case its own ctest test "MODULE.case" labelled "runtime". These start
# real nodes on loopback, so they run one at a time (RESOURCE_LOCK) to keep
# the machine's few cores free for the timers they depend on.
function(baton_runtime_test module)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  set(src ${PROJECT_SOURCE_DIR}/tests/integration/${module}_test.c)
  add_executable(${module}_test ${src})
  target_include_directories(${module}_test PRIVATE ${PROJECT_SOURCE_DIR}/src
                             ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${module}_test PRIVATE ${ARG_LIBS} baton_static PkgConfig::CMOCKA)
  baton_cmocka_cases(${module}_test ${src} runtime 180 RESOURCE_LOCK baton_runtime)
endfunction()
