"""Issue 23 at Internet scale: the per-destination control plane of big labs (scale.build_scale)
gives the tables, truth and sim traces of the whole-table one (compute.build); the on-disk cache
of the control plane is used when it checks out and ignored otherwise; the synthetic ISP
importer is seeded and hierarchical.
"""
from __future__ import annotations

import hashlib
import json
import os

import pytest

from testbed.controlplane import build, cache
from testbed.controlplane.scale import build_scale, unsupported
from testbed.errors import LabError
from testbed.importers import ImportProblem, import_lab, write
from testbed.lab import lab_names, load_lab
from testbed.truth import ground_truth


def _synthetic(tmp_path, routers=70, seed=3, **kw):
    f = tmp_path / f"syn{routers}-{seed}.yaml"
    opts = dict(vendors="cisco=0.5,juniper=0.3,linux=0.2", domains=3, ldp="vendor", vps=2, dsts=5, seed=seed,
                classes="invisible-php,opaque,invisible-uhp")
    opts.update(kw)
    write(import_lab(f"synthetic:isp?routers={routers}&seed={seed}&pop=12", **opts), str(f))
    return load_lab(f)


def _same_tables(lab):
    whole, lazy = build(lab), build_scale(lab)
    for r in lab.routers:
        a, b = whole.tables[r.name], lazy.tables[r.name]
        fib, lfib = {}, {}
        b._lazy.fib_loader(fib)
        b._lazy.lfib_loader(lfib)
        assert dict(a.fib) == fib, (lab.name, r.name, "FIB")
        assert dict(a.lfib) == lfib, (lab.name, r.name, "LFIB")
        assert dict(a.bindings.items()) == dict(b.bindings.items()), (lab.name, r.name, "LDP bindings")
        assert a.ldp_neighbors == b.ldp_neighbors
    return whole, lazy


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def test_per_destination_tables_are_the_whole_tables_on_every_library_lab():
    done = 0
    for name in lab_names():
        lab = load_lab(name)
        if unsupported(lab):
            continue
        _same_tables(lab)
        done += 1
    assert done >= 15


def test_per_destination_tables_truth_and_sim_traces_on_a_mixed_synthetic_isp(tmp_path):
    """Three domains, three vendors, each router its vendor's LDP policy (LSPs cut, BGP next-hop-self
    at exit LERs for what `ldp loopbacks` leaves unlabelled), PHP, UHP and an opaque class."""
    lab = _synthetic(tmp_path)
    whole, lazy = _same_tables(lab)
    assert any(rt.kind == "bgp" for t in whole.tables.values() if t.name in lab.nodes and
               lab.nodes[t.name].is_router for rt in t.fib.values())
    assert _digest(ground_truth(build(lab))) == _digest(ground_truth(build_scale(lab)))
    from testbed.experiments.campaign import campaign

    def run(cp):
        d = campaign(lab, "sim", cp=cp, workers=1, seed=1)
        assert d["traces"] == 10
        return _digest({k: v for k, v in d.items() if k not in ("seconds", "traces_per_second", "_truth")})
    assert run(build(lab)) == run(build_scale(lab))


def test_big_labs_switch_to_per_destination_and_refuse_what_it_does_not_model(monkeypatch):
    import testbed.controlplane.scale as scale
    monkeypatch.setattr(scale, "SCALE_ROUTERS", 3)
    cp = build(load_lab("mixed"))
    assert getattr(cp, "scale", None) is not None and cp.scale.spf_runs == 0     # nothing computed up front
    with pytest.raises(LabError) as e:
        build(load_lab("ldp-over-rsvp"))
    msg = str(e.value)
    assert "rsvp" in msg and "not modelled for labs over 3 routers" in msg and "\n" not in msg.strip()


def test_cache_is_used_when_it_checks_out_and_ignored_otherwise(tmp_path, monkeypatch):
    lab = _synthetic(tmp_path, routers=80, seed=5)
    store = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV, str(store))
    monkeypatch.setattr(cache, "stats", {"hits": 0, "misses": 0, "ignored": 0, "written": 0})
    first = build(lab)
    assert cache.stats["written"] == 1 and oct(store.stat().st_mode & 0o777) == "0o700"
    [entry] = list(store.glob("*.npz"))
    assert entry.stat().st_mode & 0o077 == 0
    again = build(lab)
    assert cache.stats["hits"] == 1
    truth = _digest(ground_truth(first))
    assert _digest(ground_truth(again)) == truth
    for r in lab.routers:                                  # the same tables from the cache
        assert again.tables[r.name] == first.tables[r.name]

    good = entry.read_bytes()
    # corrupt bytes, a valid archive whose content does not match its digest, a file others
    # may write, a folder others may write: each is ignored and the control plane recomputed
    entry.write_bytes(good[: len(good) // 2])
    assert _digest(ground_truth(build(lab))) == truth and cache.stats["ignored"] == 1
    import io

    import numpy as np
    with np.load(io.BytesIO(good), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["b_label"] = arrays["b_label"].copy()
    arrays["b_label"][0] = 99999                         # a label the router never bound
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    entry.write_bytes(buf.getvalue())
    assert _digest(ground_truth(build(lab))) == truth and cache.stats["ignored"] == 2
    build(lab)                                           # rewritten whole by the recomputation
    assert cache.stats["hits"] == 2 and cache.stats["ignored"] == 2
    os.chmod(entry, 0o666)
    assert _digest(ground_truth(build(lab))) == truth and cache.stats["ignored"] == 3
    os.chmod(store, 0o777)
    hits = cache.stats["hits"]
    build(lab)
    assert cache.stats["hits"] == hits and cache.stats["ignored"] == 3   # not even opened
    monkeypatch.setenv(cache.ENV, "off")
    build(lab)
    assert cache.stats["hits"] == hits


def test_synthetic_isp_is_seeded_hierarchical_and_checks_its_parameters():
    from testbed.importers.synthetic import isp
    a, b = import_lab("synthetic:isp?routers=300&seed=2"), import_lab("synthetic:isp?routers=300&seed=2")
    assert a == b and a != import_lab("synthetic:isp?routers=300&seed=3")
    assert a["name"] == "isp300-s2" and len(a["routers"]) == 300
    g = isp(5000, 1, 60)
    tiers = {}
    for _, d in g.nodes(data=True):
        tiers[d["tier"]] = tiers.get(d["tier"], 0) + 1
    assert g.number_of_nodes() == 5000 and tiers["access"] > 0.9 * 5000 and tiers["core"] >= 4
    deg = dict(g.degree())
    assert min(deg[n] for n in g if g.nodes[n]["tier"] == "core") >= 3
    assert sum(1 for n in g if deg[n] == 1) > 0.1 * 5000           # ITDK-like degree-1 tails
    import networkx as nx
    assert nx.is_connected(g)
    for bad, what in (("synthetic:isp?routers=5", "from 20 to 200000"), ("synthetic:mesh", "unknown kind"),
                      ("synthetic:isp?size=3", "unknown parameter"), ("synthetic:isp?seed=x", "whole number")):
        with pytest.raises(ImportProblem) as e:
            import_lab(bad)
        assert what in str(e.value) and "\n" not in str(e.value)
