# The contract of the baton-sim program (run by ctest as sim.cli.program_contract):
#  1. one seed is one run: the same command twice prints the same JSON (but
#     for wall_ms), and another seed prints another;
#  2. the last line of stdout is one JSON object with the documented fields;
#  3. a bad flag exits 2 with a message naming the flag and its value;
#  4. a run that breaks an invariant exits 1, names the violation in the
#     JSON, and prints a replay command on stderr that reproduces the run.
# Usage: cmake -DSIM=/path/to/baton-sim -P program_contract.cmake

function(run_sim out_json out_err out_rc)
  execute_process(COMMAND ${SIM} ${ARGN} OUTPUT_VARIABLE o ERROR_VARIABLE e RESULT_VARIABLE r)
  string(REGEX REPLACE "\n$" "" o "${o}")
  string(REGEX REPLACE "^.*\n" "" last "${o}")
  set(${out_json} "${last}" PARENT_SCOPE)
  set(${out_err} "${e}" PARENT_SCOPE)
  set(${out_rc} "${r}" PARENT_SCOPE)
endfunction()

function(strip_wall var json)
  string(REGEX REPLACE "\"wall_ms\":[0-9]+" "" j "${json}")
  set(${var} "${j}" PARENT_SCOPE)
endfunction()

set(noisy --scenario chaos --nodes 8 --duration-ms 20000 --profile local --loss 0.05 --dup 0.02
          --reorder 0.05 --skew-ms 300 --drift-ppm 50 --quiet)

# 1. Determinism.
run_sim(a err rc --seed 7 ${noisy})
run_sim(b err rc --seed 7 ${noisy})
run_sim(c err rc --seed 8 ${noisy})
strip_wall(a "${a}")
strip_wall(b "${b}")
strip_wall(c "${c}")
if(NOT a STREQUAL b)
  message(FATAL_ERROR "seed 7 gave two different runs:\n${a}\n${b}")
endif()
if(a STREQUAL c)
  message(FATAL_ERROR "seeds 7 and 8 gave the same run:\n${a}")
endif()

# 2. The JSON summary's fields.
foreach(field seed nodes virtual_ms wall_ms packets_sent bytes_sent violations detection_ms
              false_positive_deaths convergence_ms names failover_ms handover_ms propagation_ms
              leader_changes writes_accepted writes_rejected)
  string(FIND "${a}" "\"${field}\":" at)
  if(at EQUAL -1 AND NOT field STREQUAL "wall_ms")
    message(FATAL_ERROR "the JSON summary has no ${field}: ${a}")
  endif()
endforeach()
string(JSON kind TYPE "${a}" violations)
if(NOT kind STREQUAL "ARRAY")
  message(FATAL_ERROR "violations is not an array: ${a}")
endif()
foreach(field failover_ms handover_ms propagation_ms)
  foreach(key p50 p99 max count)
    string(JSON ignored ERROR_VARIABLE missing GET "${a}" ${field} ${key})
    if(missing)
      message(FATAL_ERROR "${field} has no ${key}: ${a}")
    endif()
  endforeach()
endforeach()
# The chaos run above campaigns (one name by default): leaders wrote.
string(JSON accepted GET "${a}" writes_accepted)
if(accepted EQUAL 0)
  message(FATAL_ERROR "no write was accepted in a chaos run with an election: ${a}")
endif()

# 3. Bad flags.
foreach(bad "--loss;1.5" "--nodes;0" "--profile;moon" "--latency-ms;9:3" "--seed;-4" "--frob;1")
  list(GET bad 0 flag)
  list(GET bad 1 value)
  execute_process(COMMAND ${SIM} ${flag} ${value} OUTPUT_VARIABLE o ERROR_VARIABLE e RESULT_VARIABLE r)
  if(NOT r EQUAL 2)
    message(FATAL_ERROR "${flag} ${value}: exit ${r}, expected 2")
  endif()
  string(FIND "${e}" "${flag}" at_flag)
  if(at_flag EQUAL -1)
    message(FATAL_ERROR "${flag} ${value}: the message does not name the flag: ${e}")
  endif()
  if(NOT flag STREQUAL "--frob")
    string(FIND "${e}" "${value}" at_value)
    if(at_value EQUAL -1)
      message(FATAL_ERROR "${flag} ${value}: the message does not name the value: ${e}")
    endif()
  endif()
endforeach()
execute_process(COMMAND ${SIM} --help OUTPUT_VARIABLE help RESULT_VARIABLE r)
if(NOT r EQUAL 0)
  message(FATAL_ERROR "--help exited ${r}")
endif()
foreach(flag --scenario --seed --seeds --nodes --duration-ms --profile --loss --latency-ms --skew-ms
             --dup --reorder --drift-ppm --quiet --verbose --names --write-interval-ms --horizon-ms
             failover handover pause churn twin)
  string(FIND "${help}" "${flag}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "--help does not mention ${flag}")
  endif()
endforeach()

# 4. A failing run (a convergence bound no cluster can meet) and its replay.
run_sim(f err rc --scenario partition-heal --seed 3 --nodes 6 --duration-ms 8000 --profile local
        --converge-bound-ms 1)
if(NOT rc EQUAL 1)
  message(FATAL_ERROR "an impossible bound exited ${rc}, expected 1\n${f}\n${err}")
endif()
string(FIND "${f}" "slow_convergence" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the violation is not named in the JSON: ${f}")
endif()
if(NOT err MATCHES "replay: ([^\n]*)")
  message(FATAL_ERROR "no replay command on stderr: ${err}")
endif()
separate_arguments(replay UNIX_COMMAND "${CMAKE_MATCH_1}")
execute_process(COMMAND ${replay} OUTPUT_VARIABLE o ERROR_VARIABLE e RESULT_VARIABLE r2)
string(REGEX REPLACE "\n$" "" o "${o}")
string(REGEX REPLACE "^.*\n" "" g "${o}")
strip_wall(f "${f}")
strip_wall(g "${g}")
if(NOT r2 EQUAL 1 OR NOT f STREQUAL g)
  message(FATAL_ERROR "the replay command did not reproduce the run (exit ${r2}):\n${f}\n${g}")
endif()
message(STATUS "baton-sim program contract holds")
