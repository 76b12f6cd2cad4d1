# Fuzz targets in the ordinary test build (included by tests/CMakeLists.txt).
#
# Every tests/fuzz/<name>_fuzz.c is linked with replay_main.c into
# <name>_fuzz_replay and registered as ctest test fuzz.<name>.corpus, which
# runs it once over each file of tests/fuzz/corpus/<name>/ under the build's
# sanitizers. A target is picked up by dropping the file in (the glob is
# re-evaluated at build time); it must come with a non-empty corpus
# directory, or its test fails. The libFuzzer build of the same files is
# tests/fuzz/CMakeLists.txt.
file(GLOB BATON_FUZZ_TARGETS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/fuzz/*_fuzz.c)
foreach(src IN LISTS BATON_FUZZ_TARGETS)
  get_filename_component(base ${src} NAME_WE)
  string(REGEX REPLACE "_fuzz$" "" name ${base})
  add_executable(${base}_replay ${src} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.c
                 ${PROJECT_SOURCE_DIR}/tests/support/oracle.c)
  target_include_directories(${base}_replay PRIVATE ${PROJECT_SOURCE_DIR}/src
                             ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${base}_replay PRIVATE baton_seal)
  add_test(NAME fuzz.${name}.corpus
           COMMAND ${base}_replay ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${name})
  set_tests_properties(fuzz.${name}.corpus PROPERTIES LABELS fuzz TIMEOUT 300)
endforeach()

# The seed corpus generator (not run by ctest; see its opening comment).
add_executable(make_corpus ${PROJECT_SOURCE_DIR}/tests/fuzz/make_corpus.c)
target_include_directories(make_corpus PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(make_corpus PRIVATE baton_core)
