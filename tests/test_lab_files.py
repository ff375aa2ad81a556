"""Lab files, the topology library, ground truth and clear errors on bad input."""
import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.controlplane import build
from testbed.errors import LabError
from testbed.lab import lab_names, load_lab
from testbed.lab.reserved import is_reserved
from testbed.truth import ground_truth

LIBRARY = ["explicit", "implicit", "opaque", "invisible-php", "invisible-php-juniper", "invisible-uhp",
           "mixed", "plain-ip", "asymmetric", "linux-lsr"]


def test_library_has_every_named_lab():
    assert set(LIBRARY) <= set(lab_names())


@pytest.mark.parametrize("name", LIBRARY)
def test_library_lab_truth_matches_its_comment(name):
    lab = load_lab(name)
    text = Path(lab.source).read_text()
    assert text.lstrip().startswith("#"), "each lab says in a comment what a traceroute shows"
    gt = ground_truth(build(lab))
    got = [t for p in gt["probes"] for path in p["paths"] for t in path["tunnels"]]
    want = lab.expect["tunnels"]
    assert [(t["class"], t["ingress"], t["egress"], t["lsrs"]) for t in got] == \
        [(t["class"], t["ingress"], t["egress"], t["lsrs"]) for t in want]
    for t, w in zip(got, want):
        assert t["silent"] == w.get("silent", False)
    # every address of the lab is public-looking (TNT ignores reserved ones)
    for n in lab.nodes.values():
        for a in n.addresses():
            assert not is_reserved(a), (n.name, a)
    # router identity: every interface address maps back to its node
    for n in lab.nodes.values():
        for a in n.addresses():
            assert lab.owner_of(a) == n.name


@pytest.mark.parametrize("lsrs", [1, 2, 7])
def test_templates_take_parameters(lsrs):
    lab = load_lab("invisible-php", {"lsrs": lsrs})
    gt = ground_truth(build(lab))
    assert gt["probes"][0]["paths"][0]["tunnels"][0]["lsrs"] == [f"p{i}" for i in range(1, lsrs + 1)]


def test_p2p_prefix_selectable(tmp_path):
    for plen in (30, 31):
        lab = load_lab("invisible-uhp", {"p2p_prefix": plen})
        for link in lab.links:
            if link.kind == "p2p":
                assert link.network.prefixlen == plen
                if plen == 30:
                    assert all(i.ip not in (link.network.network_address, link.network.broadcast_address)
                               for i in link.interfaces)


def test_vendor_defaults_and_domain_overrides():
    lab = load_lab("invisible-php-juniper")
    p1 = lab.nodes["p1"]
    assert p1.vendor == "juniper" and p1.ldp == "loopbacks" and p1.ttl_propagate is False
    assert p1.icmp_tunneling is False                 # Juniper default, not set in the file
    lab = load_lab("invisible-php")
    assert lab.nodes["p1"].icmp_tunneling is True and lab.nodes["p1"].ldp == "all"
    assert lab.nodes["ce1"].domain is None


def test_ldp_policies_bind_as_vendors_do():
    cp = build(load_lab("invisible-php"))              # Cisco: every prefix
    cp_j = build(load_lab("invisible-php-juniper"))    # Juniper: loopbacks only
    assert any(p.prefixlen == 31 for p in cp["p1"].bindings)
    assert all(p.prefixlen == 32 for p in cp_j["p1"].bindings)
    # PHP: implicit null for own prefixes; UHP: explicit null
    lab = load_lab("invisible-php")
    assert cp["pe2"].bindings[ipaddress.ip_network(f"{lab.nodes['pe2'].loopback}/32")] == 3
    cpu = build(load_lab("invisible-uhp"))
    lab = load_lab("invisible-uhp")
    assert cpu["pe2"].bindings[ipaddress.ip_network(f"{lab.nodes['pe2'].loopback}/32")] == 0
    # labels from 16 up per router
    assert min(v for v in cp["p2"].bindings.values() if v > 3) == 16


def test_truth_cli_json_and_show():
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "truth", "mixed", "--json"], capture_output=True,
                       text=True, check=True)
    doc = json.loads(r.stdout)
    assert [t["class"] for t in doc["probes"][0]["paths"][0]["tunnels"]] == ["explicit", "invisible-php"]
    assert doc["nodes"]["pe1"]["domain"] == "east"
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "show", "explicit", "p1", "--json"],
                       capture_output=True, text=True, check=True)
    t = json.loads(r.stdout)
    assert t["lfib"] and all(h["out"] in ("pop", "untagged") or isinstance(h["out"], int)
                             for e in t["lfib"] for h in e["hops"])


# ---------------------------------------------------------------- malformed lab files
BASE = """\
routers:
  r1: {}
  r2: {}
  r3: {}
hosts:
  vp: {}
links:
  - [vp, r1]
  - [r1, r2]
  - [r2, r3]
mpls:
  core: {routers: [r1, r2, r3]}
probes:
  - {from: vp, to: r3}
"""

BAD = {
    "wrong-type": (BASE.replace("r1: {}", "r1: {vendor: 5}"), 2, "routers.r1.vendor", "string"),
    "unknown-vendor": (BASE.replace("r2: {}", "r2: {vendor: cisko}"), 3, "routers.r2.vendor",
                       "unknown vendor 'cisko'; allowed: brocade, cisco, ericsson"),
    "missing-node": (BASE.replace("[r2, r3]", "[r2, r9]"), 10, "links[2]", "unknown node 'r9'"),
    "duplicate-name": (BASE.replace("  r3: {}\n", "  r3: {}\n  r2: {}\n"), 5, "routers.r2", "duplicate key 'r2'"),
    "host-and-router-same-name": (BASE.replace("  vp: {}", "  vp: {}\n  r1: {}"), 7, "hosts.r1",
                                  "duplicate node name 'r1'"),
    "overlapping-addresses": (BASE.replace("[r1, r2]", "{endpoints: [{node: r1, address: 11.9.0.0/30}, r2]}")
                              .replace("[r2, r3]", "{endpoints: [{node: r2, address: 11.9.0.1/31}, r3]}"),
                              10, "links[2]", "overlaps 11.9.0.0/30"),
    "domain-one-router": (BASE.replace("routers: [r1, r2, r3]", "routers: [r2]"), 12, "mpls.core.routers",
                          "at least 2 items"),
    "unknown-field": (BASE.replace("r3: {}", "r3: {vendr: cisco}"), 4, "routers.r3.vendr", "unknown field"),
    "bad-popping": (BASE.replace("routers: [r1, r2, r3]", "routers: [r1, r2, r3], popping: phpp"), 12,
                    "mpls.core.popping", "'php' or 'uhp'"),
    "reserved-pool": ("addressing: {links: 10.0.0.0/16}\n" + BASE, 1, "addressing.links",
                      "TNT treats as reserved"),
    "host-in-domain": (BASE.replace("routers: [r1, r2, r3]", "routers: [r1, vp]"), 12, "mpls.core.routers",
                       "'vp' is a host"),
    "probe-from-nowhere": (BASE.replace("from: vp", "from: r9"), 14, "probes[0].from", "unknown node 'r9'"),
    "bad-yaml": (BASE.replace("  - [r1, r2]", "  - [r1, r2"), None, "", "not valid YAML"),
    "template-undefined": (BASE.replace("r3: {}", "r3: {vendor: {{ v }}}"), None, "template", "--set"),
    "disconnected": (BASE.replace("  - [r2, r3]\n", "") .replace("to: r3", "to: r2"), None, "links",
                     "disconnected"),
    "three-endpoints": (BASE.replace("[r2, r3]", "{endpoints: [r1, r2, r3]}"), 10, "links[2]", "exactly two"),
}


def test_a_router_may_be_a_vantage_point(tmp_path):
    """`from: <router>`: the router probes with its own stack; the truth walks from it."""
    from testbed.lab import load_lab
    f = tmp_path / "rvp.yaml"
    f.write_text(BASE.replace("from: vp", "from: r1"))
    lab = load_lab(str(f))
    assert lab.probes[0].source == "r1" and lab.nodes["r1"].is_router
    gt = ground_truth(build(lab))
    assert gt["probes"][0]["from"] == "r1"
    first = gt["probes"][0]["paths"][0]["forward"][0]
    assert (first["node"], first["action"]) == ("r1", "source")
    assert gt["probes"][0]["from_address"] == str(lab.nodes["r1"].loopback)


def test_trace_from_a_router():
    """`testbed trace split-pipe --from pe1`: the PE's own traceroute sees the LSRs with labels."""
    import json
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "trace", "split-pipe", "--from", "pe1", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [h["node"] for h in doc["hops"]] == ["p1", "p2", "p3", "pe2", "ce2", "dst"]
    assert [bool(h["labels"]) for h in doc["hops"][:4]] == [True, True, True, False]


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_lab_fails_with_one_clear_line(case, tmp_path):
    text, line, field, needle = BAD[case]
    f = tmp_path / f"{case}.yaml"
    f.write_text(text)
    before = set(os.listdir(tmp_path))
    with pytest.raises(LabError) as ei:
        load_lab(str(f))
    probs = ei.value.problems
    assert probs, "at least one problem"
    p = probs[0]
    msg = str(p)
    assert "\n" not in msg
    assert msg.startswith(str(f))
    assert needle.lower() in msg.lower(), msg
    if field:
        assert p.field == field, msg
    if line is not None:
        assert p.line == line, msg
    assert set(os.listdir(tmp_path)) == before   # nothing half-built is left behind


def test_cli_reports_errors_on_stderr_with_exit_2(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(BAD["unknown-vendor"][0])
    r = subprocess.run([sys.executable, "-m", "testbed.cli", "validate", str(f)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {f}:3: routers.r2.vendor: unknown vendor 'cisko'")
    assert r.stdout == ""


# ---------------------------------------------------------------- template lines, collected errors
def test_errors_name_the_template_line_not_the_rendered_line(tmp_path):
    """A loop renders many lines from one: the error names the template's line (and a
    snippet's own file and line when the text came from an include)."""
    (tmp_path / "_part.j2").write_text("# a snippet\nhosts:\n  vp: {vendor: cisco}\n")
    f = tmp_path / "lab.yaml"
    f.write_text("{% set n = 6 %}\n"
                 "routers:\n"
                 "{% for i in range(n) %}\n"
                 "  r{{ i }}: {}\n"
                 "{% endfor %}\n"
                 "  bad: {vendor: cisko}\n"
                 "{% include '_part.j2' %}\n"
                 "links:\n"
                 "{% for i in range(n - 1) %}\n"
                 "  - [r{{ i }}, r{{ i + 1 }}]\n"
                 "{% endfor %}\n"
                 "  - [bad, r0]\n"
                 "  - [vp, r0]\n")
    with pytest.raises(LabError) as ei:
        load_lab(str(f))
    where = {(p.file, p.line, p.field) for p in ei.value.problems}
    # rendered, 'bad' is on line 11 and the snippet's host on line 14; the template says 6 and 3
    assert (str(tmp_path / "_part.j2"), 3, "hosts.vp.vendor") in where, where
    f.write_text(f.read_text().replace("  vp: {vendor: cisco}", "  vp: {}"))
    (tmp_path / "_part.j2").write_text("# a snippet\nhosts:\n  vp: {}\n")
    with pytest.raises(LabError) as ei:
        load_lab(str(f))
    p = ei.value.problems[0]
    assert (p.file, p.line, p.field) == (str(f), 6, "routers.bad.vendor"), str(p)


def test_library_snippet_error_points_into_the_snippet(tmp_path):
    """A lab built from the library's snippets (as 8 of 10 library labs are) with a mistake
    that shows in a snippet's text: the snippet's file and line, not the rendered line."""
    from testbed import TOPOLOGIES
    f = tmp_path / "lab.yaml"
    f.write_text("{% set lsrs = 4 %}\n{% set vendor = 'cisco' %}\nhosts:\n  x: {}\n"
                 "{% include '_routers.j2' %}\n{% include '_chain.j2' %}\n")
    with pytest.raises(LabError) as ei:
        load_lab(str(f))
    p = ei.value.problems[0]
    # the second 'hosts:' is the snippet's: its line in _chain.j2, not in the rendered text
    line = (TOPOLOGIES / "_chain.j2").read_text().splitlines().index("hosts:") + 1
    assert (p.file, p.line) == (str(TOPOLOGIES / "_chain.j2"), line) and "duplicate key 'hosts'" in p.message, str(p)


def test_independent_problems_are_reported_together(tmp_path):
    f = tmp_path / "lab.yaml"
    f.write_text(BASE.replace("[r1, r2]", "{endpoints: [r1, r2], cost: true}")
                 .replace("r3: {}", "r3: {icmp_rate_limit: 1.0e400}")
                 .replace("r2: {}", "r2: {vendor: cisko}").replace("[vp, r1]", "[vp, r9]")
                 .replace("to: r3", "to: r3}\n  - {from: vp, to: r3, x: 1"))
    with pytest.raises(LabError) as ei:
        load_lab(str(f))
    fields = [p.field for p in ei.value.problems]
    # schema errors, and the references that do not depend on them (vendor, link ends)
    assert {"links[1].cost", "routers.r3.icmp_rate_limit", "probes[1].x", "routers.r2.vendor",
            "links[0]"} <= set(fields), fields
    assert all("\n" not in str(p) for p in ei.value.problems)
    assert any("1..65535" in p.message for p in ei.value.problems)


@pytest.mark.parametrize("text,needle", [
    ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "unsafe"),
    ("{{ ''.__class__ }}", "unsafe"),
    ("{% set l = [] %}{{ l.append(1) }}", "unsafe"),
    ("{{ 'x' * 100000000 }}", "too large"),
    ("{{ 'x' * 1000 * 1000 * 10 }}", "too much"),
    ("{% include '../x.j2' %}", "refused"),
])
def test_template_sandbox(tmp_path, text, needle):
    f = tmp_path / "lab.yaml"
    f.write_text(f"description: {text}\n" + BASE)
    with pytest.raises(LabError) as ei:
        load_lab(str(f))
    assert needle in str(ei.value.problems[0]), str(ei.value.problems[0])
    assert ei.value.problems[0].line == 1


def test_parameters_are_range_checked():
    for params, needle in (({"lsrs": 1.5}, "1..250"), ({"lsrs": True}, "1..250"), ({"lsrs": 2000}, "--no-limits"),
                           ({"vendor": "cisko"}, "allowed: one of brocade, cisco"), ({"lsr": 3}, "reads no parameter")):
        with pytest.raises(LabError) as ei:
            load_lab("invisible-php", params)
        assert needle in str(ei.value.problems[0]), str(ei.value.problems[0])
    assert len(load_lab("invisible-php", {"lsrs": 260}, no_limits=True).routers) == 264


def test_size_limits_and_no_limits(tmp_path):
    f = tmp_path / "big.yaml"
    n = 1300
    f.write_text("routers:\n" + "".join(f"  r{i}: {{}}\n" for i in range(n)) + "links:\n"
                 + "".join(f"  - [r{i}, r{i + 1}]\n" for i in range(n - 1)))
    with pytest.raises(LabError) as ei:
        load_lab(str(f))
    assert "limit of 1200" in str(ei.value.problems[0]) and ei.value.problems[0].line == 1
    assert len(load_lab(str(f), no_limits=True).routers) == n


def test_address_plan_checks_every_address(tmp_path):
    cases = {
        "addressing: {loopbacks: 11.0.0.0/16, links: 11.0.0.0/16}\n" + BASE: "overlaps the loopbacks pool",
        BASE.replace("r1: {}", "r1: {loopback: 10.0.0.1}"): "reserved",
        BASE.replace("[r1, r2]", "{endpoints: [{node: r1, address: 192.168.1.0/31}, r2]}"): "reserved",
        BASE.replace("r1: {}", "r1: {loopback: 11.9.0.1}")
            .replace("[r1, r2]", "{endpoints: [{node: r1, address: 11.9.0.0/31}, r2]}"): "overlaps",
    }
    for text, needle in cases.items():
        f = tmp_path / "lab.yaml"
        f.write_text(text)
        with pytest.raises(LabError) as ei:
            load_lab(str(f))
        assert needle in str(ei.value.problems[0]), str(ei.value.problems[0])
    # an explicit link address inside the loopbacks pool: automatic loopbacks go around it
    f.write_text(BASE.replace("[r1, r2]", "{endpoints: [{node: r1, address: 11.255.0.1/31}, r2]}"))
    lab = load_lab(str(f))
    addrs = [a for n in lab.nodes.values() for a in n.addresses()]
    assert len(addrs) == len(set(addrs))
