"""docs/tunnels.md, executed: every example lab on that page is loaded, its ground truth printed
as `testbed truth` prints it and its trace run on the sim, and both must be exactly what the page
says (the forward path, tunnel and segment lines; per hop the router and the LSE-TTLs it quotes).
Also the properties the page states in words: a zero-LSR segment is never among the tunnels,
the cut's note names both LDP policies, the back-to-back router is egress and ingress."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from testbed.controlplane import build
from testbed.lab import load_lab
from testbed.runtimes.sim import Sim
from testbed.tools.scripted import ScriptedProber
from testbed.truth import ground_truth

DOC = Path(__file__).resolve().parent.parent / "docs" / "tunnels.md"


def _examples() -> dict:
    """name -> (lab YAML, expected truth lines, expected trace) from the page's blocks: a
    `<!-- example: NAME -->` marker, its ```yaml lab, then the next ```text blocks (truth, trace)."""
    text = DOC.read_text()
    out = {}
    for m in re.finditer(r"<!-- example: ([a-z0-9-]+) -->\s*```yaml\n(.*?)```", text, re.S):
        rest = text[m.end():]
        blocks = re.findall(r"```text\n(.*?)```", rest.split("<!-- example:")[0], re.S)
        truth = next(b for b in blocks if b.startswith("forward:"))
        trace = next(b for b in blocks if b.startswith("trace:"))
        out[m.group(1)] = (m.group(2), truth.strip().splitlines(), trace.strip())
    return out


EXAMPLES = _examples()


def _truth_lines(gt) -> list[str]:
    """The lines `testbed truth` prints for the first probe's first path (testbed/cli/truth.py)."""
    path = gt["probes"][0]["paths"][0]
    lines = ["forward: " + " ".join(s["node"] + ("*" if s["labels"] else "") for s in path["forward"])]
    lines += [f"tunnel {t['class']}: {t['ingress']} -> {' '.join(t['lsrs'])} -> {t['egress']}  ({t['ending']})"
              for t in path["tunnels"]]
    lines += [f"zero-LSR segment ({s['ending']}, not a tunnel): {s['ingress']} -> {s['egress']}  seen as: "
              f"{s['seen_as']}" for s in path.get("segments", [])]
    if not path["tunnels"]:
        lines.append("no tunnel")
    return lines


def _load(tmp_path, name):
    f = tmp_path / f"{name}.yaml"
    f.write_text(EXAMPLES[name][0])
    lab = load_lab(f)
    return lab, build(lab)


def test_the_page_has_every_kind_of_example():
    assert set(EXAMPLES) == {"ldp-cut", "ldp-one-policy", "zero-lsr-abrupt", "zero-lsr-uhp", "b2b-php", "b2b-uhp",
                             "l3vpn-egress"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_truth_is_what_the_page_says(tmp_path, name):
    lab, cp = _load(tmp_path, name)
    assert _truth_lines(ground_truth(cp)) == EXAMPLES[name][1]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_trace_on_the_sim_is_what_the_page_says(tmp_path, name):
    lab, cp = _load(tmp_path, name)
    p = lab.probes[0]
    hops = ScriptedProber(Sim(lab, cp), p.source).trace(str(p.targets[0]))
    got = " | ".join(lab.owner_of(h.address) + (f" [{','.join(str(t) for _, t in h.labels)}]" if h.labels else "")
                     for h in hops)
    assert "trace: " + got == EXAMPLES[name][2]


def test_a_cut_is_noted_with_both_policies_and_its_router_is_back_to_back(tmp_path):
    lab, cp = _load(tmp_path, "ldp-cut")
    first, second = ground_truth(cp)["probes"][0]["paths"][0]["tunnels"]
    assert any("mixed LDP policies" in n and "ldp all" in n and "ldp loopbacks" in n for n in first["notes"])
    assert first["egress"] == second["ingress"] == "c"
    assert not second["notes"]


@pytest.mark.parametrize("name", ["b2b-php", "b2b-uhp"])
def test_a_router_in_two_domains_is_the_egress_of_one_tunnel_and_the_ingress_of_the_next(tmp_path, name):
    lab, cp = _load(tmp_path, name)
    assert lab.shared_routers() == {"c": ["west", "east"]}
    first, second = ground_truth(cp)["probes"][0]["paths"][0]["tunnels"]
    assert first["egress"] == second["ingress"] == "c"
    assert (first["domain"], second["domain"]) == ("west", "east")


@pytest.mark.parametrize("name", ["zero-lsr-abrupt", "zero-lsr-uhp"])
def test_a_zero_lsr_segment_is_never_a_tunnel_nor_scored_present(tmp_path, name):
    from testbed.scoring import score_run
    lab, cp = _load(tmp_path, name)
    gt = ground_truth(cp)
    path = gt["probes"][0]["paths"][0]
    assert path["tunnels"] == [] and len(path["segments"]) == 1
    trace = {"src": str(lab.probes[0].source), "dst": gt["probes"][0]["to"], "hops": [], "tunnels": [],
             "vantage_point": lab.probes[0].source}
    assert score_run(lab, gt, [trace])["totals"]["present"] == 0


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_truth_with_cuts_and_segments_follows_the_schema(tmp_path, name):
    import json

    import jsonschema
    schema = json.loads((DOC.parent / "truth.schema.json").read_text())
    lab, cp = _load(tmp_path, name)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.loads(json.dumps(ground_truth(cp)))))
    assert not errors, [e.message[:160] for e in errors[:3]]


def test_an_egress_with_an_inner_label_stays_the_egress_and_tnts_view_is_named(tmp_path):
    """The truth's egress is c, where the transport LSP ends (it pops the VPN label and routes
    the packet); uTNT on the sim tags c an LSR and names e the egress, and the scorer names it."""
    from testbed.api import run as run_lab
    lab, cp = _load(tmp_path, "l3vpn-egress")
    (t,) = ground_truth(cp)["probes"][0]["paths"][0]["tunnels"]
    assert (t["egress"], t["stack_depth"]) == ("c", 2)
    doc = run_lab(lab, runtime="sim", seed=0)
    (u,) = doc["traces"][0]["tunnels"]
    assert [lab.owner_of(a) for a in u["lsrs"]] == ["b", "c"] and lab.owner_of(u["egress"]) == "e"
    (v,) = doc["score"]["traces"][0]["verdicts"]
    assert (v["outcome"], v["wrong"], v["cause"]) == ("partly", ["egress"], "inner-label-egress")
