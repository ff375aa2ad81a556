"""The control plane and the truth walk give byte-identical results after they were made fast
(AS3356, issue 15): the JSON of every router's tables (FIB, LFIB, LDP bindings) and of the
ground truth, for every library lab, some vendor variants, generated matrix cells and two
imported ISP topologies, hashed and compared with the digests recorded with the code before
the change (tests/golden/truth/digests.json, written from main at e2645e7).

A change that is meant to alter the control plane or the truth (a new vendor knob, a new
rule) regenerates the digests, and the diff of digests.json shows which labs it touched:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_truth_golden.py
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


from testbed.controlplane import build
from testbed.lab import lab_names, load_lab
from testbed.truth import ground_truth

DIGESTS = Path(__file__).resolve().parent / "golden" / "truth" / "digests.json"
VARIANTS = [("explicit", {"vendor": "juniper"}), ("explicit", {"vendor": "linux"}),
            ("explicit", {"vendor": "iosxr"}), ("invisible-uhp", {"vendor": "juniper"}),
            ("invisible-php", {"vendor": "linux"}), ("opaque", {"vendor": "juniper"})]
MATRIX = dict(seed=7, limit=12)
IMPORTS = {"geant": ("sndlib:geant", dict(vps=3, dsts=6, share=0.8, domains=2, classes="explicit,invisible-php",
                                          vendors="cisco=0.6,juniper=0.3,linux=0.1", seed=3)),
           "attmpls": ("topozoo:AttMpls", dict(vps=4, dsts=8, classes="invisible-uhp,opaque",
                                              vendors="cisco=0.5,juniper=0.5", seed=2))}


def _cases(tmp: Path):
    for name in lab_names():
        yield name, lambda name=name: load_lab(name)
    for name, params in VARIANTS:
        yield f"{name}:{','.join(f'{k}={v}' for k, v in params.items())}", \
            lambda name=name, params=params: load_lab(name, params)
    from testbed.experiments.matrix import cells, lab_for
    for cid, params in cells(seed=MATRIX["seed"], limit=MATRIX["limit"]):
        yield f"matrix:{cid}", lambda params=params: lab_for(params)
    try:
        from testbed.importers import import_lab, write
        import topohub  # noqa: F401
    except ImportError:
        return
    for key, (src, opts) in IMPORTS.items():
        def make(key=key, src=src, opts=opts):
            f = tmp / f"{key}.yaml"
            write(import_lab(src, **opts), str(f))
            return load_lab(f)
        yield f"import:{key}", make


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, indent=1, default=str).encode()).hexdigest()


def digests(tmp: Path) -> dict:
    out = {}
    for case, make in _cases(tmp):
        lab = make()
        cp = build(lab)
        # the truth first: walked on the tables as the control plane leaves them (routes and
        # labels resolved one destination at a time, compute.OnDemand), then every table built
        truth = _digest(ground_truth(cp))
        out[case] = {"tables": _digest({r: t.to_json() for r, t in sorted(cp.tables.items())}), "truth": truth}
    return out


def test_tables_and_truth_are_byte_identical_to_the_recorded_ones(tmp_path):
    now = digests(tmp_path)
    if os.environ.get("UPDATE_GOLDEN"):
        DIGESTS.parent.mkdir(parents=True, exist_ok=True)
        DIGESTS.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    recorded = json.loads(DIGESTS.read_text())
    missing = sorted(set(recorded) - set(now))
    assert not [m for m in missing if not m.startswith("import:")], f"cases gone: {missing}"
    assert len(now) >= 40
    changed = {k: [part for part in ("tables", "truth") if now[k][part] != recorded[k][part]]
               for k in now if k in recorded}
    changed = {k: v for k, v in changed.items() if v}
    assert not changed, f"control plane or truth changed for: {changed}"
    new = sorted(set(now) - set(recorded))
    assert not new, f"cases without a recorded digest (run with UPDATE_GOLDEN=1): {new}"


def _scan(fib: dict, dst):
    """The longest match by a scan of every prefix (what lookup did before the index)."""
    best = None
    for pfx, r in fib.items():
        if dst in pfx and (best is None or pfx.prefixlen > best.prefix.prefixlen):
            best = r
    return best


def test_indexed_lookup_is_the_scan_of_every_prefix_also_after_changes():
    import random
    from ipaddress import IPv4Address, IPv4Network

    from testbed.controlplane.tables import NextHop, Route
    cp = build(load_lab("mixed"))
    lab = cp.lab
    rnd = random.Random(5)
    addrs = [a for n in lab.nodes.values() for a in n.addresses()]
    addrs += [IPv4Address(int(a) ^ rnd.getrandbits(rnd.choice((1, 4, 8, 16, 32)))) for a in addrs]
    for name, t in sorted(cp.tables.items()):
        for a in addrs:
            assert t.lookup(a) is _scan(t.fib, a), (name, a)
    t = cp.tables["pe1"]
    probe = addrs[0]
    for pfx in (IPv4Network(f"{probe}/32"), IPv4Network("0.0.0.0/0"), IPv4Network(f"{probe}/24", strict=False)):
        t.fib[pfx] = Route(pfx, "igp", [NextHop("eth1", None, None)])     # a change drops the index
        assert t.lookup(probe) is _scan(t.fib, probe)
    del t.fib[IPv4Network(f"{probe}/32")]
    assert t.lookup(probe) is _scan(t.fib, probe) and t.lookup(probe).prefix.prefixlen == 24
    t.fib.pop(IPv4Network(f"{probe}/24", strict=False))
    assert t.lookup(probe) is _scan(t.fib, probe)
