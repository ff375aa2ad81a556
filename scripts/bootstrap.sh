#!/usr/bin/env bash
# One-time set-up, run by `make` on first use: Debian packages (only those missing),
# a virtualenv in $VENV, and the project installed into it (editable).
set -euo pipefail
VENV=${1:-.venv}
cd "$(dirname "$0")/.."

# Debian packages the project uses at run time or in its tests.
#   iproute2: namespaces, veth, bridges, taps     frr: FRR's config parser and control plane
#   scamper, traceroute, tcpdump: independent probers and captures run against labs
#   python3-venv: a virtualenv on a bare Debian   graphviz: not needed (pictures use matplotlib)
#   nftables: the kernel's output filter in router namespaces of labs on the FRR control plane
APT_PKGS=(iproute2 frr frr-pythontools scamper traceroute tcpdump python3-venv nftables)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: missing Debian packages: ${missing[*]}; run as root or install them with apt-get" >&2
    exit 1
  fi
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating virtualenv $VENV"
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
echo "bootstrap: installing the project and its Python dependencies"
# the extras the tests use: test (pytest, hypothesis), topo (topohub's graphs for `testbed import`),
# dask (the executor's Dask path: matrix, sweeps and campaigns on a local cluster in the tests),
# lint (ruff and mypy, run by `make test` before the tests)
"$VENV/bin/python" -m pip install -q -e ".[test,topo,dask,lint]"
touch "$VENV/.installed"
