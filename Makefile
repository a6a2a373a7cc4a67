# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Real corpora: ../shared/data when it exists and NMT_DATA_DIR is unset.
ifeq ($(origin NMT_DATA_DIR), undefined)
  ifneq ($(wildcard ../shared/data/multi30k),)
    export NMT_DATA_DIR := $(abspath ../shared/data)
  endif
endif
export TF_CPP_MIN_LOG_LEVEL ?= 2
# pytest-xdist workers for `make test`; test modules stay whole on one worker (their
# module-scoped fixtures train small models once). TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

.PHONY: setup test test-fast test-cluster demo lint bench compat clean

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependencies change.
$(STAMP): setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,plot]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m ruff check nmt tests benchmarks
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not cluster"

# Multi-worker training with real local worker processes (about 3 minutes; not in `make test`).
test-cluster: $(STAMP)
	$(BIN)/python -m pytest -q -m cluster

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

demo: $(STAMP)
	$(BIN)/python -m nmt.cli.demo

lint: $(STAMP)
	$(BIN)/python -m ruff check nmt tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/pipeline_throughput.py

# Does an export of this TensorFlow load and translate the same under TensorFlow 2.20? Not part of
# `make test`: the first run installs tensorflow 2.20 into a venv outside the repository
# (COMPAT_VENV, default ~/.cache/nmt/compat-tf2.20) and writes benchmarks/RESULTS.md's compat section.
COMPAT_VENV ?= $(HOME)/.cache/nmt/compat-tf2.20
compat: $(STAMP)
	$(BIN)/python benchmarks/compat.py --venv $(COMPAT_VENV) $(if $(MODEL),--model $(MODEL))

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
