"""Issue 23, the 100,000-router campaign under a minute: the quick paths give what the full
ones gave. A lab file's values built without a line per value (yamlpos.load_lazy) are the
values and lines of the full walk (load_with_lines), and so is the lab model built from
them; a bad file still gets its one line with the line number; the control plane's SPF
without the one-neighbour routers gives every router's distance of a plain Dijkstra; the
truth of a big lab checks one node identity per personality and is the same document.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from testbed.errors import LabError
from testbed.importers import import_lab, to_yaml
from testbed.lab import load_lab, loader
from testbed.yamlpos import load_lazy, load_with_lines


@pytest.fixture(scope="module")
def isp2000(tmp_path_factory):
    f = tmp_path_factory.mktemp("isp") / "isp2000.yaml"
    f.write_text(to_yaml(import_lab("synthetic:isp?routers=2000&seed=4", vps=3, dsts=10, domains=2,
                                    vendors="cisco=0.6,juniper=0.4", classes="invisible-php,explicit")))
    return f


def _model(lab) -> str:
    """Everything the lab model holds, as JSON (its objects refer to each other in cycles)."""
    nodes = {n.name: [n.kind, n.vendor, str(n.loopback), n.domain, n.domains, n.ldp, n.popping, n.ttl_propagate,
                      n.rfc4950, n.icmp_tunneling, n.icmp_rate_limit, n.icmp_source, str(n.gateway), n.behaviour,
                      repr(n.personality), n.domain_knobs,
                      [[i.name, str(i.address), i.link.name, i.mac.hex(), i.cost] for i in n.interfaces]]
             for n in lab.nodes.values()}
    links = [[k.name, k.kind, str(k.network), k.cost, k.delay_ms, k.jitter_ms, k.loss, k.delay_set,
              [i.node for i in k.interfaces]] for k in lab.links]
    doms = {d: repr(m) for d, m in lab.domains.items()}
    probes = [[p.source, [str(t) for t in p.targets], p.target_names] for p in lab.probes]
    return json.dumps([lab.name, nodes, links, doms, probes, lab.p2p_prefix, lab.seed], sort_keys=True)


def test_quick_values_and_lazy_lines_are_the_full_walks(isp2000):
    text = isp2000.read_text()
    full, lines = load_with_lines(text)
    quick, lazy = load_lazy(text)
    assert quick == full
    assert lazy._lines is None                     # nothing walked for lines until asked
    some = [("routers",), ("links", 17, "endpoints", 1), ("probes", 2, "to", 3), ("mpls",)]
    assert [lazy[p] for p in some] == [lines[p] for p in some] and all(p in lazy for p in some)
    assert dict(lazy._lines) == lines


def test_the_lab_model_is_the_one_built_from_the_full_walk(isp2000, monkeypatch):
    quick = _model(load_lab(isp2000, no_limits=True))
    monkeypatch.setattr(loader, "load_lazy", load_with_lines)
    assert quick == _model(load_lab(isp2000, no_limits=True))


def test_a_bad_big_file_still_names_its_line(isp2000, tmp_path):
    lines = isp2000.read_text().splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.startswith("  agg3:"))
    for bad, want in ((lines[k], "duplicate key 'agg3'"), ("  agg3x: {vendor: nokia9}", "unknown vendor 'nokia9'")):
        f = tmp_path / "bad.yaml"
        f.write_text("\n".join(lines[:k + 1] + [bad] + lines[k + 1:]) + "\n")
        with pytest.raises(LabError) as e:
            load_lab(f, no_limits=True)
        p = e.value.problems[0]
        assert want in p.message and p.line == k + 2, (p.message, p.line)


def test_spf_without_leaves_is_plain_dijkstra(isp2000):
    from testbed.controlplane.scale import INF, ScaleState
    st = ScaleState(load_lab(isp2000, no_limits=True))
    assert len(st.leaf_of) > len(st.names) // 4          # a synthetic ISP: many single-homed routers
    owners = list(st.leaf_of)[:60] + list(set(range(len(st.names))) - set(st.leaf_of))[:60]
    for o in owners:
        d = dijkstra(st.rgraph, directed=True, indices=o)
        want = np.where(np.isfinite(d), d, INF).astype(np.int64)
        assert (st.tree(o).astype(np.int64) == want).all(), st.names[o]


def test_big_truth_checks_one_identity_per_personality_and_is_the_same(monkeypatch):
    from testbed.controlplane import build
    from testbed.documents import DocumentError
    from testbed.truth import report
    cp = build(load_lab("explicit", {"vendor": "juniper"}))
    every = report.ground_truth(cp)
    monkeypatch.setattr(report, "CHECK_EVERY_NODE", 2)       # as for a lab of more than 2,000 nodes
    assert report.ground_truth(cp) == every
    # what the sampled check still catches: a knob value no document allows
    monkeypatch.setattr(report, "_behaviour", lambda n: {"bad": {"not": "a knob value"}})
    with pytest.raises(DocumentError):
        report.ground_truth(cp)
