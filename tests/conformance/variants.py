"""The lab variants the conformance suite runs uTNT and the original TNT on.

One function, :func:`variants`, gives the list: the library labs (:func:`_library_matrix`), or
with ``source="matrix"`` cells drawn from the evaluation matrix's generator
(testbed/experiments/matrix.py ``cells``: the whole grid, vendors and behaviour-catalogue
axes included), each written as a lab file (the generator's own text) that both detectors
run on; ``source="both"`` interleaves them. ``make conformance`` takes the source from
CONFORMANCE_SOURCE (default library).
A variant is ``{"id", "lab", "params", "options", "extra_targets"}``: a library lab, its
``--set`` parameters, TNT's options (given to both detectors) and extra destinations
(node names) traced in the same run.
"""
from __future__ import annotations

import itertools
import random

from testbed.peers.oracle import OPTIONS

CHAIN_LABS = ("explicit", "implicit", "invisible-php", "invisible-php-juniper", "invisible-uhp",
              "linux-lsr", "opaque")
VENDOR_MIXES = (
    {"vendor": "cisco"}, {"vendor": "juniper"}, {"vendor": "linux"},
    {"ler_vendor": "juniper", "lsr_vendor": "cisco"}, {"ler_vendor": "cisco", "lsr_vendor": "juniper"},
)
# TNT's options, each given to both (the defaults weigh most), are the recorded oracle's OPTIONS
MULTI_DOMAIN = 60          # multi-domain matrix cells among the library variants


def _vid(lab: str, params: dict, options: list[str]) -> str:
    ps = ",".join(f"{k}={v}" for k, v in sorted(params.items()))
    return f"{lab}[{ps}]{'[' + ' '.join(options) + ']' if options else ''}"


def _library_matrix(rng: random.Random) -> list[dict]:
    out = []
    for lab, lsrs, mix, p2p in itertools.product(CHAIN_LABS, range(1, 9), VENDOR_MIXES, (31, 30)):
        params = {"lsrs": lsrs, "p2p_prefix": p2p, **mix}
        out.append({"lab": lab, "params": params, "extra_targets": ["ce2"]})
    for hops in range(2, 8):
        out.append({"lab": "plain-ip", "params": {"hops": hops}, "extra_targets": []})
    for lab in ("asymmetric", "mixed"):
        out.append({"lab": lab, "params": {}, "extra_targets": []})
    for v in out:
        v["options"] = list(rng.choice(OPTIONS))
        v["id"] = _vid(v["lab"], v["params"], v["options"])
    return out


def conformance_grid() -> dict:
    """The matrix grid the conformance suite samples: one path, no entropy labels (TNT's and
    uTNT's Paris flows differ, so with ECMP they take other equal-cost paths, and an entropy
    label is a flow hash). Several vantage points, router ones included, are in: run_pair keeps
    both dumps per vantage point and differences() pairs traces per (vantage point, destination)."""
    from testbed.experiments.matrix import GRID
    return {**GRID, "ecmp": [False], "entropy_label": [False], "return_ecmp": [False]}


def multi_domain_grid() -> dict:
    """The conformance grid with 2 or 3 MPLS domains in series (issue 20: different vendors,
    classes, popping per domain, joined LER to LER, through an IP router, or back to back
    through one router in both domains: the matrix's opt-in join value "shared")."""
    from testbed.experiments.matrix import GRID, OPT_IN
    return {**conformance_grid(), "domains": [2, 3], "join": GRID["join"] + OPT_IN["join"]}


def matrix_variants(n: int, seed: int = 11, grid: dict | None = None, folder: str | None = None) -> list[dict]:
    """``n`` cells of the evaluation matrix (sampled with ``seed``), each as a lab file in
    ``folder`` (default: a folder under the system's temporary directory), with one of TNT's
    option sets drawn with the seed."""
    import os
    import tempfile
    from pathlib import Path

    from testbed.experiments.matrix import cell_id, cells, lab_doc, lab_text
    grid = grid or conformance_grid()
    rng = random.Random(seed)
    d = Path(folder or os.path.join(tempfile.gettempdir(), "utnt-conformance-matrix"))
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for cid, params in cells(grid, seed, n):
        f = d / f"{lab_doc(params)['name']}.yaml"
        f.write_text(lab_text(params))
        options = list(rng.choice(OPTIONS))
        out.append({"lab": str(f), "params": {}, "extra_targets": [], "options": options, "cell": cid,
                    "id": f"matrix:{cell_id(params)}{'[' + ' '.join(options) + ']' if options else ''}"})
    return out


def variants(n: int | None = None, seed: int = 11, source: str | None = None) -> list[dict]:
    """The variants, in a seeded order; the first ``n`` (all when None).  The library labs
    with every lsrs 1..8 x vendor mix x /30-/31 combination, plain-ip, asymmetric and mixed,
    and MULTI_DOMAIN matrix cells with 2-3 MPLS domains in series (multi_domain_grid),
    each with one of TNT's option sets drawn with the seed; or matrix cells (source "matrix",
    ``n`` of them, 500 when None), or both alternating (source "both")."""
    import os
    source = source or os.environ.get("CONFORMANCE_SOURCE", "library")
    if source not in ("library", "matrix", "both"):
        raise ValueError(f"CONFORMANCE_SOURCE={source}: choose library, matrix or both")
    if source == "matrix":
        return matrix_variants(n if n is not None else 500, seed)
    lib = _library_variants(seed)
    if source == "both":
        mx = matrix_variants(len(lib) if n is None else n, seed)
        mixed = [v for pair in zip(lib, mx) for v in pair]
        return mixed if n is None else mixed[:n]
    return lib if n is None else lib[:n]


def _library_variants(seed: int) -> list[dict]:
    rng = random.Random(seed)
    allv = _library_matrix(rng) + matrix_variants(MULTI_DOMAIN, seed, grid=multi_domain_grid())
    fixed = [v for v in allv if v["lab"] in ("asymmetric", "mixed")]
    rest = [v for v in allv if v not in fixed]
    rng.shuffle(rest)
    return fixed + rest
