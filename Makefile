# Two commands do all set-up on a fresh machine with the .NET SDK: `make run` and `make test`.
DOTNET ?= dotnet
CONFIG ?= Release
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

.PHONY: all build run test test-dotnet test-native perf perf-embedded perf-cluster soak bench bench-gpu bench-gpu-mpi bench-native generate check-generated native clean

all: build

build:
	$(DOTNET) build Runtime.sln -c $(CONFIG) -nologo -v quiet

# Builds, then runs the demo job on an embedded local runtime.
run:
	$(DOTNET) run --project examples/Ray.Demo -c $(CONFIG)

# Builds and runs every test: the generated-code check, the .NET suites, then the native
# library's C, C++ and Python tests.
test: check-generated
	$(MAKE) test-dotnet test-native

test-dotnet:
	$(DOTNET) test Runtime.sln -c $(CONFIG) -nologo --logger "console;verbosity=normal"

# ---- native interop: libray_runtime.so (NativeAOT) and its C, C++ and Python clients ----
NATIVE_BUILD := native/build
NATIVE_LIB := $(NATIVE_BUILD)/libray_runtime.so
NATIVE_PUBLISH := native/Ray.Native/bin/Release/net10.0/linux-x64/publish
CC = gcc
CXX = g++
PYTHON ?= python3
NATIVE_CFLAGS := -O2 -g -Wall -Wextra -Werror -Inative/include
NATIVE_LDFLAGS := -L$(NATIVE_BUILD) -lray_runtime -Wl,-rpath,'$$ORIGIN'

# Publishes the library with NativeAOT and builds the C/C++ programs next to it.
native:
	$(DOTNET) publish native/Ray.Native -r linux-x64 -c Release -nologo -v quiet -p:PublishAot=true -p:NativeLib=Shared
	mkdir -p $(NATIVE_BUILD)
	cp $(NATIVE_PUBLISH)/Ray.Native.so $(NATIVE_LIB)
	$(CC) -std=c11 $(NATIVE_CFLAGS) native/examples/example.c -o $(NATIVE_BUILD)/example $(NATIVE_LDFLAGS)
	$(CC) -std=c11 $(NATIVE_CFLAGS) native/tests/test_ray_runtime.c -o $(NATIVE_BUILD)/test_ray_runtime $(NATIVE_LDFLAGS) -lpthread
	$(CXX) -std=c++17 $(NATIVE_CFLAGS) native/tests/test_cpp.cpp -o $(NATIVE_BUILD)/test_cpp $(NATIVE_LDFLAGS)
	$(CC) -std=c11 $(NATIVE_CFLAGS) native/bench/bench.c -o $(NATIVE_BUILD)/bench $(NATIVE_LDFLAGS)

# Runs the example, the C test, the C++ test and the Python (ctypes) test against the library.
# The C and Python tests start a raylet with the ray CLI (RAY_DLL) for their connected cases.
RAY_DLL := $(CURDIR)/src/Raylet/bin/$(CONFIG)/net10.0/ray.dll
test-native: native
	$(DOTNET) build src/Raylet/Ray.Raylet.csproj -c $(CONFIG) -nologo -v quiet
	$(NATIVE_BUILD)/example
	RAY_DLL=$(RAY_DLL) $(NATIVE_BUILD)/test_ray_runtime
	$(NATIVE_BUILD)/test_cpp
	RAY_DLL=$(RAY_DLL) RAY_RUNTIME_LIB=$(CURDIR)/$(NATIVE_LIB) $(PYTHON) native/python/test_ray_runtime.py -v

# Put/get round trips, a zero-copy 1 GiB get and 1 GiB puts, from C, Python and C# in one run each; the C
# bench also runs them on a runtime connected to a raylet it starts (RAY_DLL).
bench-native: native
	$(DOTNET) build src/Raylet/Ray.Raylet.csproj -c $(CONFIG) -nologo -v quiet
	RAY_DLL=$(RAY_DLL) $(NATIVE_BUILD)/bench
	RAY_RUNTIME_LIB=$(CURDIR)/$(NATIVE_LIB) $(PYTHON) native/python/bench_ray_runtime.py

# Quick microbenchmark (under 4 minutes): one line per case, and bench/results/perf.json.
# Embedded runtime first, then cluster mode (a raylet in a temp session dir, driver -> worker processes).
# The serve cases need Debian's wrk: installed here when missing (they are skipped without it).
perf:
	command -v wrk >/dev/null || (apt-get update -q && apt-get install -y -q wrk) || echo "wrk is not installed: the serve cases will be skipped"
	$(DOTNET) run --project bench/Ray.Perf -c Release -- --mode all --out bench/results/perf.json

perf-embedded:
	$(DOTNET) run --project bench/Ray.Perf -c Release -- --mode embedded --out bench/results/perf.json

# Cluster mode only (about 1 minute): transport floors, then the cases through a local raylet.
perf-cluster:
	$(DOTNET) run --project bench/Ray.Perf -c Release -- --mode cluster --out bench/results/perf.json

# BenchmarkDotNet suites for the scheduler and the object path.
# A minute (SOAK_SECONDS) of random, slow and idle connections on the raylet's TCP port, a
# worker socket and the store socket beside a working driver; fails on any driver error or a
# raylet RSS more than 20 MB above where it started. Not part of `make test`.
SOAK_SECONDS ?= 60
soak:
	$(DOTNET) run --project bench/Ray.Soak -c Release -- --duration $(SOAK_SECONDS) --out bench/results/soak.json

bench:
	$(DOTNET) run --project bench/Ray.Benchmarks -c Release -- --filter '*'

# GPU collectives: reduction kernels beside a device copy, all-reduce busbw 1 KiB..256 MiB for 2 and 4
# rank processes (shared memory), and the MPI peer in the same run when mpirun is installed.
bench-gpu:
	$(DOTNET) run --project bench/Ray.Gpu.Bench -c Release

# The same with the MPI peer: installs Debian's openmpi first when it is missing (asked for
# explicitly; never part of `make test`).
bench-gpu-mpi:
	command -v mpirun >/dev/null || (apt-get update -q && apt-get install -y -q openmpi-bin libopenmpi-dev)
	$(MAKE) bench-gpu

# Regenerates the per-arity API files (Func/Action shapes of 0..6 arguments).
generate:
	python3 tools/gen_arity.py

# Fails (naming each stale file) when the committed per-arity files differ from what
# `make generate` would write; writes nothing. The first step of `make test`.
check-generated:
	python3 tools/gen_arity.py --check

clean:
	$(DOTNET) clean Runtime.sln -nologo -v quiet
	rm -rf bench/results native/build
