# Two commands do all set-up on a fresh machine with the .NET SDK: `make run` and `make test`.
DOTNET ?= dotnet
CONFIG ?= Release
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

.PHONY: all build run test perf bench generate clean

all: build

build:
	$(DOTNET) build Runtime.sln -c $(CONFIG) -nologo -v quiet

# Builds, then runs the demo job on an embedded local runtime.
run:
	$(DOTNET) run --project examples/Ray.Demo -c $(CONFIG)

# Builds and runs every test.
test:
	$(DOTNET) test Runtime.sln -c $(CONFIG) -nologo --logger "console;verbosity=normal"

# Quick microbenchmark (under 3 minutes): one line per case, and bench/results/perf.json.
perf:
	$(DOTNET) run --project bench/Ray.Perf -c Release -- --out bench/results/perf.json

# BenchmarkDotNet suites for the scheduler and the object path.
bench:
	$(DOTNET) run --project bench/Ray.Benchmarks -c Release -- --filter '*'

# Regenerates the per-arity API files (Func/Action shapes of 0..6 arguments).
generate:
	python3 tools/gen_arity.py

clean:
	$(DOTNET) clean Runtime.sln -nologo -v quiet
	rm -rf bench/results
