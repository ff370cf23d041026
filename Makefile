# enclave-chat: the two commands a newcomer runs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck unit bench conformance clean

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

## Tinfoil's cross-SDK conformance suite (docs/tinfoil.md, Conformance) against
## `enclave-chat conformance tinfoil`: the harness is copied out of the read-only vectors folder into
## a scratch dir and installed into its own venv; prints the pass/fail/skip table. Not part of `make test`.
CONFORMANCE_SUITE ?= ../shared/vectors/tinfoil-conformance
CONFORMANCE_VENV  := .venv-conformance
CONFORMANCE_TMP   := $(CURDIR)/build/conformance

conformance: $(VENV)/.base
	rm -rf $(CONFORMANCE_TMP) && mkdir -p $(CONFORMANCE_TMP)
	cp -R $(CONFORMANCE_SUITE)/harness $(CONFORMANCE_TMP)/harness && chmod -R u+w $(CONFORMANCE_TMP)/harness
	test -x $(CONFORMANCE_VENV)/bin/python || $(PYTHON) -m venv $(CONFORMANCE_VENV)
	$(CONFORMANCE_VENV)/bin/pip install -q $(CONFORMANCE_TMP)/harness
	cd $(CONFORMANCE_TMP) && $(CURDIR)/$(CONFORMANCE_VENV)/bin/tinfoil-conformance run \
	  --sdk "enclave-chat=$(CURDIR)/$(BIN)/enclave-chat conformance tinfoil" \
	  --vectors $(abspath $(CONFORMANCE_SUITE))/vectors --output-dir $(CONFORMANCE_TMP)/results; \
	  status=$$?; cat $(CONFORMANCE_TMP)/results/latest/results.md; exit $$status

clean:
	rm -rf $(VENV) $(CONFORMANCE_VENV) .pytest_cache .mypy_cache .ruff_cache
