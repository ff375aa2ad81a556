# uTNT-lab: every target bootstraps what it needs on first use (apt packages, virtualenv, pip).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TOPO   ?=
ARGS   ?=

.PHONY: all bootstrap test testbed labs bench clean mininet

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

## make mininet : the optional Mininet runtime (Debian's mininet and bridge-utils; tests skip without them)
mininet: $(STAMP)
	@dpkg-query -W -f='$${Status}' mininet 2>/dev/null | grep -q "install ok installed" && \
	 dpkg-query -W -f='$${Status}' bridge-utils 2>/dev/null | grep -q "install ok installed" || \
	 (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mininet bridge-utils tmux >/dev/null)
	@/usr/bin/python3 -c "import mininet.nodelib" && echo "mininet: ready (testbed up LAB --runtime mininet)"

labs: $(STAMP)
	$(VENV)/bin/testbed list

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf $(VENV) build .pytest_cache
