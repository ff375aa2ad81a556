# uTNT-lab: every target bootstraps what it needs on first use (apt packages, virtualenv, pip).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TOPO   ?=
ARGS   ?=
# test processes (pytest-xdist): most namespace tests wait on real processes, so three share two cores well
JOBS   ?= 3

.PHONY: all bootstrap test test-big readme-check testbed labs bench clean conformance oracle vm vm-image mininet guest-kernel

all: test

$(STAMP): pyproject.toml scripts/bootstrap.sh
	@bash scripts/bootstrap.sh $(VENV)

bootstrap: $(STAMP)

## make testbed TOPO=invisible-php : the main job (no TOPO: list the labs)
testbed: $(STAMP)
	@if [ -z "$(TOPO)" ]; then $(VENV)/bin/testbed list; \
	else $(VENV)/bin/testbed run $(TOPO) $(ARGS); fi

## make lint : ruff (real mistakes, not style) and mypy (strict on uTNT and the pipeline's core; pyproject.toml)
.PHONY: lint
lint: $(STAMP)
	$(VENV)/bin/ruff check --quiet .
	$(VENV)/bin/mypy --no-error-summary

## make test : lint, then the whole test suite, JOBS=3 processes (builds the micro-VM guests first where QEMU is installed)
test: lint
	@if command -v qemu-system-x86_64 >/dev/null && [ -x /bin/busybox ] && ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1; \
	then $(MAKE) --no-print-directory build/vm/image.json; fi
	$(PY) -m pytest -q -ra -n $(JOBS) tests $(ARGS)

## make test-big : the heavy big-lab tests (10,000 routers, every library lab on the big-lab runtime; root; minutes)
test-big: $(STAMP)
	UTNT_BIG=1 $(PY) -m pytest -q -ra -s -n 0 tests/test_bigrt.py tests/test_bigrt_cp.py -k "ten_thousand or library" $(ARGS)

## make readme-check : every command the README shows, the heavy ones too (tests/test_readme_commands.py
##   HEAVY: make test, conformance, oracle, vm, ...; root; up to hours)
readme-check: $(STAMP)
	UTNT_README_HEAVY=1 $(PY) -m pytest -q -ra -s -n 0 tests/test_readme_commands.py $(ARGS)

## make conformance : uTNT vs the original TNT over the lab variants (needs TNT built, see README)
conformance: $(STAMP)
	$(PY) -m pytest -q -ra -s -m conformance tests/conformance $(ARGS)

## make oracle : re-record the original TNT's dumps on generated labs (tests/oracle/labs/, needs TNT built;
##   resumable: labs already there are kept; ORACLE_ARGS="--redo" re-records all, "--jobs N" labs at once)
ORACLE_ARGS ?=
oracle: $(STAMP)
	$(PY) -m testbed.peers.oracle $(ORACLE_ARGS)
	$(PY) -m pytest -q -n $(JOBS) tests/oracle

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

## make vm : the optional micro-VM runtime: QEMU, Debian's kernel, busybox (apt, ~85 MB), then the guests
vm: $(STAMP)
	@missing=""; for p in qemu-system-x86 linux-image-amd64 busybox-static cpio kmod; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "vm: installing$$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; fi
	@$(MAKE) --no-print-directory vm-image

## make vm-image : build/vm/{vmlinuz,initramfs-tiny.cpio.gz,initramfs-utnt.cpio.gz,image.json}
##   (and the micro guest, build/vm/micro + initramfs-utnt-micro.cpio.*, when make guest-kernel has run)
vm-image:
	@bash scripts/build-vm-image.sh build/vm

## make guest-kernel : the micro guest's own kernel from Debian's linux-source-6.1 (apt, ~140 MB;
##   ~10 min on 2 cores once, cached in $(GUEST_KERNEL_CACHE)), then the guests (make vm first)
UTNT_CACHE ?= $(HOME)/.cache/utnt-lab
GUEST_KERNEL_CACHE := $(UTNT_CACHE)/guest-kernel
guest-kernel:
	@missing=""; for p in linux-source-6.1 gcc make flex bison bc libelf-dev zstd cpio; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "guest-kernel: installing$$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; fi
	@UTNT_CACHE=$(UTNT_CACHE) bash scripts/build-guest-kernel.sh >/dev/null
	@bash scripts/build-vm-image.sh build/vm

VM_SOURCES := $(shell find utnt testbed/wire -name '*.py' 2>/dev/null) testbed/runtimes/qemu/guest-init.sh scripts/vm_kernel.py \
	scripts/build-vm-image.sh scripts/vm_stdlib.py testbed/runtimes/qemu/guest-init.c \
	$(wildcard $(GUEST_KERNEL_CACHE)/current/vmlinux)
build/vm/image.json: $(VM_SOURCES)
	@bash scripts/build-vm-image.sh build/vm

clean:
	rm -rf $(VENV) build .pytest_cache
