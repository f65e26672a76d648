# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when it is missing,
# installs tapescan into it (pinned by constraints.txt to the versions the suite was run with) and runs.
# With an NVIDIA GPU, `make gpu CUDA=12` (or 13, the "CUDA Version" nvidia-smi shows) adds the GPU packages
# and records the choice in .venv/.cuda, so that every later install keeps that CUDA major's packages.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
CUDA_CHOSEN := $(strip $(shell cat $(VENV)/.cuda 2>/dev/null))
CUDA   ?= $(or $(CUDA_CHOSEN),13)
CONSTRAINTS := -c constraints.txt -c constraints-cu$(CUDA).txt
# The GPU extra rides along with every install once `make gpu` has chosen one; without one, the tests get CUDA 13's
# compilers (extra ptx) to compile the GPU kernels for a real device.
GPU_EXTRA := $(if $(CUDA_CHOSEN),gpu-cu$(CUDA))
TEST_EXTRAS := test report peers $(if $(CUDA_CHOSEN),,ptx)
comma  := ,
empty  :=
space  := $(empty) $(empty)
wanted = $(strip $(1) $(GPU_EXTRA))
extras = '.$(if $(wanted),[$(subst $(space),$(comma),$(wanted))])'

.PHONY: demo test test-cpu test-cudasim gpu check-gpu-install bench bench-store bench-ingest bench-analytics bench-scanner bench-gpu bench-replay bench-backtest bench-sweep-output install install-test clean

demo: $(VENV)/.installed-base
	$(BIN)/tapescan demo

test: test-cpu test-cudasim

# The main suite: every test except those that need the CUDA simulator.
test-cpu: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q tests --ignore=tests/cudasim

# The numba CUDA simulator only works when NUMBA_ENABLE_CUDASIM is set before numba is imported,
# so its tests run as a process of their own.
test-cudasim: $(VENV)/.installed-test
	NUMBA_ENABLE_CUDASIM=1 $(BIN)/python -m pytest -q tests/cudasim

bench: bench-store bench-ingest bench-analytics bench-scanner bench-replay bench-backtest bench-sweep-output

bench-store: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_store.py

bench-ingest: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_ingest.py

bench-analytics: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_analytics.py

bench-scanner: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_scanner.py

bench-replay: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_replay.py

bench-backtest: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_backtest.py

# A sweep written to .csv and .parquet by the tapescan command against a polars program, whole processes.
bench-sweep-output: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_sweep_output.py

# The analytics benchmark with the GPU path added (needs a usable GPU and the gpu-cu12/gpu-cu13 extra).
bench-gpu: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_analytics.py --gpu

install: $(VENV)/.installed-base
install-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

PINS := pyproject.toml constraints.txt constraints-cu$(CUDA).txt

# The demo's install has the report extra (plotly), so that the backtest it suggests can write its --report.
$(VENV)/.installed-base: $(PINS) | $(BIN)/python
	$(PIP) install $(CONSTRAINTS) -e $(call extras,report)
	touch $@

$(VENV)/.installed-test: $(PINS) | $(BIN)/python
	$(PIP) install $(CONSTRAINTS) -e $(call extras,$(TEST_EXTRAS))
	touch $@ $(VENV)/.installed-base

$(VENV)/.installed-bench: $(PINS) | $(BIN)/python
	$(PIP) install $(CONSTRAINTS) -e $(call extras,$(TEST_EXTRAS) bench)
	touch $@ $(VENV)/.installed-base $(VENV)/.installed-test

# The GPU packages for one CUDA major, pinned like the rest. One major per .venv: to switch, `make clean`.
gpu: | $(BIN)/python
	@case "$(CUDA)" in 12|13) ;; *) echo "make gpu CUDA=12 or CUDA=13: the CUDA Version nvidia-smi shows" >&2; exit 2;; esac
	@if [ -n "$(CUDA_CHOSEN)" ] && [ "$(CUDA_CHOSEN)" != "$(CUDA)" ]; then \
		echo "$(VENV) holds the CUDA $(CUDA_CHOSEN) packages; run 'make clean' first to switch to CUDA $(CUDA)." >&2; exit 2; fi
	$(PIP) install $(CONSTRAINTS) -e '.[test,gpu-cu$(CUDA)]'
	echo $(CUDA) > $(VENV)/.cuda
	touch $(VENV)/.installed-base $(VENV)/.installed-test

# Both GPU extras resolve with the pinned set: a dry run that reads the package index and installs nothing.
check-gpu-install: | $(BIN)/python
	@for cuda in 12 13; do \
		$(PIP) install --dry-run --ignore-installed -c constraints.txt -c constraints-cu$$cuda.txt \
			'.[test,report,peers,bench,gpu-cu'$$cuda']' || exit 1; \
		echo "gpu-cu$$cuda resolves with constraints.txt and constraints-cu$$cuda.txt"; \
	done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
	find tapescan tests bench -name __pycache__ -prune -exec rm -rf {} +  # with numba's compiled caches
