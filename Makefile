# enclave-chat: the two commands a newcomer runs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck unit bench fuzz conformance wheel clean

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

## The long fuzz runs (pytest -m slow), with new random examples each time; not part of `make test`,
## whose property tests draw the same examples every run (tests/conftest.py).
fuzz: $(VENV)/.test
	HYPOTHESIS_PROFILE=explore $(BIN)/pytest -q -p no:cacheprovider -m slow

## Benchmarks (ratios against a baseline measured in the same run); not part of `make test`.
bench: $(VENV)/.test
	$(BIN)/pytest -q -s -p no:cacheprovider -o testpaths=benchmarks -o python_files='bench_*.py' -m '' benchmarks

## Tinfoil's cross-SDK conformance suite (docs/tinfoil.md, Conformance) against
## `enclave-chat conformance tinfoil`: the harness is copied out of the read-only vectors folder into
## a scratch dir and installed into its own venv; prints the pass/fail/skip table. Not part of `make test`.
CONFORMANCE_SUITE ?= ../shared/vectors/tinfoil-conformance
CONFORMANCE_VENV  := .venv-conformance
CONFORMANCE_TMP   := $(CURDIR)/build/conformance
## The SEV vectors carry a real Genoa VCEK, not its ASK and ARK (the suite's SDKs embed them); this
## project takes them from AMD KDS's cert_chain through the collateral cache. The run is offline, with
## a scratch cache holding that chain (Tinfoil's copy; every signature and the ARK pin still checked).
CONFORMANCE_AMD_CHAIN ?= ../shared/vectors/tinfoil/verifier/attestation/genoa_cert_chain.pem

conformance: $(VENV)/.base
	rm -rf $(CONFORMANCE_TMP) && mkdir -p $(CONFORMANCE_TMP)
	cp -R $(CONFORMANCE_SUITE)/harness $(CONFORMANCE_TMP)/harness && chmod -R u+w $(CONFORMANCE_TMP)/harness
	test -x $(CONFORMANCE_VENV)/bin/python || $(PYTHON) -m venv $(CONFORMANCE_VENV)
	$(CONFORMANCE_VENV)/bin/pip install -q $(CONFORMANCE_TMP)/harness
	$(BIN)/python tests/conformance/kds_cache.py $(CONFORMANCE_TMP)/cache/collateral $(CONFORMANCE_AMD_CHAIN)
	cd $(CONFORMANCE_TMP) && ENCLAVE_CHAT_CACHE_DIR=$(CONFORMANCE_TMP)/cache ENCLAVE_CHAT_OFFLINE=1 \
	  $(CURDIR)/$(CONFORMANCE_VENV)/bin/tinfoil-conformance run \
	  --sdk "enclave-chat=$(CURDIR)/$(BIN)/enclave-chat conformance tinfoil" \
	  --vectors $(abspath $(CONFORMANCE_SUITE))/vectors --output-dir $(CONFORMANCE_TMP)/results; \
	  status=$$?; cat $(CONFORMANCE_TMP)/results/latest/results.md; exit $$status

## The wheel, built from a clean clone of HEAD (dist/), installed with its dependencies from the
## package index into a fresh venv (build/wheel/venv) and run there from outside the checkout.
## Not part of `make test` (tests/cli/test_wheel.py checks the same wheel without the index).
WHEEL_TMP := $(CURDIR)/build/wheel

wheel:
	rm -rf $(WHEEL_TMP) && mkdir -p $(WHEEL_TMP) dist
	git clone -q $(CURDIR) $(WHEEL_TMP)/src
	$(PYTHON) -m venv $(WHEEL_TMP)/venv
	$(WHEEL_TMP)/venv/bin/pip install -q --upgrade pip
	$(WHEEL_TMP)/venv/bin/pip wheel -q --no-deps -w $(CURDIR)/dist $(WHEEL_TMP)/src
	$(WHEEL_TMP)/venv/bin/pip install -q $(CURDIR)/dist/enclave_chat-$$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)-py3-none-any.whl
	cd $(WHEEL_TMP) && venv/bin/enclave-chat --version && venv/bin/enclave-chat demo --help >/dev/null \
	  && venv/bin/enclave-chat completion bash >/dev/null && echo "the wheel in dist/ works in a fresh venv"

clean:
	rm -rf $(VENV) $(CONFORMANCE_VENV) .pytest_cache .mypy_cache .ruff_cache build dist
