# The README's commands. `make test` works on a fresh Debian machine: it
# installs what is missing, configures an ASan+UBSan build and runs ctest.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test tsan fuzz clean install demo bench bench-sim format format-check

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBATON_SANITIZE=ON $(CMAKE_FLAGS)

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# The runtime's tests run a second time under ThreadSanitizer, in their own
# build tree (TSan does not mix with ASan).
TSAN_BUILD ?= build-tsan

test: build tsan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

tsan: configure
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBATON_TSAN=ON $(CMAKE_FLAGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target runtime_test
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		ctest --output-on-failure -j $(JOBS) -L runtime

# libFuzzer targets (clang); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBATON_FUZZ=ON -DBATON_TESTS=OFF
	cmake --build build-fuzz -j $(JOBS)
	./scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

install: deps
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DBATON_TESTS=OFF
	cmake --build build-release -j $(JOBS)
	cmake --install build-release

# Three batond on loopback, a SIGKILL of the leader, the failover measured.
demo:
	./scripts/demo.sh

# Benchmarks (not part of make test; a few minutes): failover, handover,
# propagation, throughput, RSS/CPU, and etcd measured the same way.
# Writes bench/results/ and the README's table.
bench: deps
	./bench/deps.sh
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBATON_SANITIZE=OFF -DBATON_TESTS=OFF -DBATON_BENCH=ON
	cmake --build build-bench -j $(JOBS) --target batond baton leadbench
	python3 bench/bench.py --build build-bench

# The simulator's scale targets (README, "The simulator"): wall time, RSS and
# key figures of each; SIM_TARGETS picks some (default: the four of issue 11;
# BENCH_SIM_BIG=0 runs members-4000 for members-10000: bench/bench-sim.sh).
SIM_TARGETS ?=
bench-sim: deps
	./scripts/deps.sh time
	cmake -S . -B build-bench-sim -DCMAKE_BUILD_TYPE=Release -DBATON_SANITIZE=OFF -DBATON_TESTS=OFF
	cmake --build build-bench-sim -j $(JOBS) --target baton-sim
	./bench/bench-sim.sh build-bench-sim/baton-sim $(SIM_TARGETS)

# clang-format with .clang-format over every tracked .c and .h; the check
# (run by .ci/run) changes nothing and fails on an unformatted file.
format: deps
	./scripts/format.sh

format-check: deps
	./scripts/format.sh --check

clean:
	rm -rf $(BUILD) $(TSAN_BUILD) build-fuzz build-release build-demo build-bench build-bench-sim
