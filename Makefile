# lathe: the two commands of the README, plus helpers.
#   make demo   install dependencies, build, run the demo pipeline on bundled data (FULL=1: longer)
#   make test   install dependencies, build, run the whole test suite (ctest)
#   make asan   the test suite under AddressSanitizer + UndefinedBehaviorSanitizer
JOBS ?= 2
FULL ?= 0

.PHONY: all deps build build-asan demo test asan clean

all: build

deps:
	@bash scripts/install-deps.sh
	@bash scripts/fetch-web-deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build -j $(JOBS)

build-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLATHE_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

# make demo FULL=1 adds the longer stages (benchmarks, a DeciLM model in f32 and bf16).
demo: build
	@FULL=$(FULL) bash scripts/demo.sh

# Two tests at a time, one OpenMP thread each: the 2 cores are never oversubscribed.
test: build
	@bash scripts/fetch-test-data.sh
	@cd build && OMP_NUM_THREADS=1 ctest -j $(JOBS) --output-on-failure

asan: build-asan
	@bash scripts/fetch-test-data.sh
	@cd build-asan && OMP_NUM_THREADS=1 \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest -j $(JOBS) --output-on-failure

clean:
	rm -rf build build-asan
