# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when it is missing,
# installs tapescan into it (pinned by constraints.txt to the versions the suite was run with) and runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
CONSTRAINTS := -c constraints.txt

.PHONY: demo test test-cpu test-cudasim bench bench-store bench-ingest bench-analytics bench-scanner bench-gpu bench-replay install install-test clean

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

bench: bench-store bench-ingest bench-analytics bench-scanner bench-replay

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

# The analytics benchmark with the GPU path added (needs a usable GPU and the gpu-cu12/gpu-cu13 extra).
bench-gpu: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_analytics.py --gpu

install: $(VENV)/.installed-base
install-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed-base: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install $(CONSTRAINTS) -e '.[test]'
	touch $@ $(VENV)/.installed-base

$(VENV)/.installed-bench: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install $(CONSTRAINTS) -e '.[test,bench]'
	touch $@ $(VENV)/.installed-base $(VENV)/.installed-test

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
	find tapescan tests bench -name __pycache__ -prune -exec rm -rf {} +  # with numba's compiled caches
