# Installs the build tree into a scratch prefix, then builds and runs
# consumer.c against it: with pkg-config, and with find_package(baton)
# (shared and static).
# Arguments: -DBUILD=<build dir> -DSRC=<tests/install> -DWORK=<scratch dir>
#            -DCC=<compiler> -DFLAGS=<compile/link flags, ;-separated>
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed: ${rc}")
endif()

# 1. pkg-config, from the installed .pc file (relative prefix).
set(ENV{PKG_CONFIG_PATH} ${WORK}/prefix/lib/pkgconfig)
execute_process(COMMAND pkg-config --cflags --libs baton OUTPUT_VARIABLE pc
                RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config does not know baton")
endif()
separate_arguments(pc UNIX_COMMAND "${pc}")
execute_process(COMMAND ${CC} ${FLAGS} ${SRC}/consumer.c ${pc} -o ${WORK}/consumer-pc
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building against pkg-config flags failed")
endif()
set(ENV{LD_LIBRARY_PATH} ${WORK}/prefix/lib)
execute_process(COMMAND ${WORK}/consumer-pc RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the pkg-config consumer failed: ${rc}")
endif()

# 2. find_package(baton) from the installed CMake package.
string(REPLACE ";" " " flags "${FLAGS}")
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC} -B ${WORK}/cmake-consumer
                -DCMAKE_PREFIX_PATH=${WORK}/prefix -DCMAKE_C_COMPILER=${CC}
                "-DCMAKE_C_FLAGS=${flags}" "-DCMAKE_EXE_LINKER_FLAGS=${flags}"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "find_package(baton) failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK}/cmake-consumer RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the CMake consumer failed")
endif()
execute_process(COMMAND ${WORK}/cmake-consumer/consumer RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the CMake consumer failed: ${rc}")
endif()
execute_process(COMMAND ${WORK}/cmake-consumer/consumer_static RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the CMake consumer of the static library failed: ${rc}")
endif()
file(REMOVE_RECURSE ${WORK})
