# enclave-chat: the two commands a newcomer runs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck unit bench clean

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

## Start the bundled reference enclave (INSECURE DEMO) on loopback and open the chat TUI on it.
demo: $(VENV)/.base
	$(BIN)/enclave-chat demo

## ruff, mypy --strict (verifier/, then the UI, the enclave and the CLI), and the whole pytest suite.
test: $(VENV)/.test lint typecheck unit

lint: $(VENV)/.test
	$(BIN)/ruff check verifier tui enclave enclave_chat tests benchmarks

typecheck: $(VENV)/.test
	$(BIN)/mypy --strict verifier
	$(BIN)/mypy --strict tui enclave enclave_chat

unit: $(VENV)/.test
	$(BIN)/pytest -q -p no:cacheprovider

## Benchmarks (ratios against a baseline measured in the same run); not part of `make test`.
bench: $(VENV)/.test
	$(BIN)/pytest -q -s -p no:cacheprovider -o testpaths=benchmarks -o python_files='bench_*.py' -m '' benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
