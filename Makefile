# uTNT-lab: every target bootstraps what it needs on first use (apt packages, virtualenv, pip).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TOPO   ?=
ARGS   ?=

.PHONY: all bootstrap test testbed labs bench clean conformance

all: test

$(STAMP): pyproject.toml scripts/bootstrap.sh
	@bash scripts/bootstrap.sh $(VENV)

bootstrap: $(STAMP)

## make testbed TOPO=invisible-php : the main job (no TOPO: list the labs)
testbed: $(STAMP)
	@if [ -z "$(TOPO)" ]; then $(VENV)/bin/testbed list; \
	else $(VENV)/bin/testbed run $(TOPO) $(ARGS); fi

## make test : the whole test suite
test: $(STAMP)
	$(PY) -m pytest -q -ra tests $(ARGS)

## make conformance : uTNT vs the original TNT over the lab variants (needs TNT built, see README)
conformance: $(STAMP)
	$(PY) -m pytest -q -ra -s -m conformance tests/conformance $(ARGS)

labs: $(STAMP)
	$(VENV)/bin/testbed list

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf $(VENV) build .pytest_cache
