"""The lab variants the conformance suite runs uTNT and the original TNT on.

One function, :func:`variants`, gives the list; the evaluation matrix
(testbed/experiments/matrix.py, when it exists) can replace :func:`_library_matrix` there.
A variant is ``{"id", "lab", "params", "options", "extra_targets"}``: a library lab, its
``--set`` parameters, TNT's options (given to both detectors) and extra destinations
(node names) traced in the same run.
"""
from __future__ import annotations

import itertools
import random

CHAIN_LABS = ("explicit", "implicit", "invisible-php", "invisible-php-juniper", "invisible-uhp",
              "linux-lsr", "opaque")
VENDOR_MIXES = (
    {"vendor": "cisco"}, {"vendor": "juniper"}, {"vendor": "linux"},
    {"ler_vendor": "juniper", "lsr_vendor": "cisco"}, {"ler_vendor": "cisco", "lsr_vendor": "juniper"},
)
# TNT's options, each given to both; the empty set (defaults) weighs most
OPTIONS = ([], [], [], ["-b"], ["-f", "2"], ["-f", "4"], ["-r", "2"], ["-m", "udp-paris"], ["-s", "2"],
           ["-c", "3"])


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


def variants(n: int | None = None, seed: int = 11) -> list[dict]:
    """The variants, in a seeded order; the first ``n`` (all when None).  The library labs
    with every lsrs 1..8 x vendor mix x /30-/31 combination, plain-ip, asymmetric and mixed,
    each with one of TNT's option sets drawn with the seed."""
    rng = random.Random(seed)
    allv = _library_matrix(rng)
    fixed = [v for v in allv if v["lab"] in ("asymmetric", "mixed")]
    rest = [v for v in allv if v not in fixed]
    rng.shuffle(rest)
    ordered = fixed + rest
    return ordered if n is None else ordered[:n]
