"""containerlab export: valid topology files (containerlab's JSON schema, offline), FRR configs that
FRR's parser accepts, interface names consistent between the topology and the configs, kernel MPLS
settings, reproducible output, and `testbed deploy` failing clearly without containerlab.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import testbed
from testbed import errors
from testbed.export import containerlab as cl
from testbed.export.containerlab import (SCHEMA, build_containerlab, clab_ifname, export_containerlab, host_problems,
                                         load_schema, validate_clab)
from testbed.frr.render import CHECKER
from testbed.lab import lab_names, load_lab

LABS = lab_names()
MODES = {"default": {}, "no-mgmt": {"mgmt": False}, "bridge": {"lan": "bridge"}}
REFERENCE_SCHEMA = testbed.REPO_ROOT.parent / "shared" / "reference" / "containerlab" / "clab.schema.json"
ZEBRA = Path("/usr/lib/frr/zebra")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """lab name -> (lab, export dir, written files), default options, each lab exported once."""
    root = tmp_path_factory.mktemp("clab")
    out = {}
    for name in LABS:
        lab = load_lab(name)
        d = root / name
        out[name] = (lab, d, export_containerlab(lab, d))
    return out


def _doc(d: Path, lab) -> dict:
    return yaml.safe_load((d / f"{cl.clab_name(lab)}.clab.yml").read_text())


def _stanzas(text: str) -> dict[str, list[str]]:
    """interface name -> its lines, for zebra/ospfd ('interface X' ... 'exit') and ldpd ('  interface X')."""
    out, cur = {}, None
    for line in text.split("\n"):
        m = re.fullmatch(r"\s*interface (\S+)", line)
        if m:
            cur = out.setdefault(m[1], [])
        elif line.strip() == "exit":
            cur = None
        elif cur is not None:
            cur.append(line.strip())
    return out


# ----------------------------------------------------------------------------- the schema

def test_schema_is_an_unchanged_copy_of_the_reference():
    text = SCHEMA.read_bytes()
    recorded = re.search(r"sha256 `([0-9a-f]{64})`", (SCHEMA.parent / "README.md").read_text())
    assert recorded and hashlib.sha256(text).hexdigest() == recorded[1], "schema/README.md must record the copy's sha256"
    if not REFERENCE_SCHEMA.is_file():
        pytest.skip(f"{REFERENCE_SCHEMA} is not beside this checkout")
    assert text == REFERENCE_SCHEMA.read_bytes()


def test_schema_refs_resolve_offline():
    import referencing
    schema = load_schema()
    refs = set()

    def walk(o):
        if isinstance(o, dict):
            if isinstance(o.get("$ref"), str):
                refs.add(o["$ref"])
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(schema)
    assert refs and all(r.startswith("#/definitions/") for r in refs), sorted(r for r in refs if not r.startswith("#"))
    registry = referencing.Registry().with_resource(schema["$id"], referencing.Resource.from_contents(schema))
    resolver = registry.resolver(base_uri=schema["$id"])
    for r in sorted(refs):
        assert resolver.lookup(r).contents is not None, r
    # and the validator itself is built (metaschema check included) without fetching anything
    assert cl.clab_validator() is not None


# ----------------------------------------------------------------------------- validity

@pytest.mark.parametrize("name", LABS)
def test_every_lab_exports_a_valid_clab_file(exported, name):
    lab, d, files = exported[name]
    assert files[0] == d / f"{cl.clab_name(lab)}.clab.yml"
    doc = _doc(d, lab)
    assert validate_clab(doc) == []
    nodes = doc["topology"]["nodes"]
    assert set(lab.nodes) <= set(nodes)
    assert list(nodes) == sorted(nodes)
    for n in lab.routers:
        assert nodes[n.name]["kind"] == "linux" and nodes[n.name]["image"] == cl.DEFAULT_IMAGE
        assert nodes[n.name]["binds"] == [f"nodes/{n.name}:/etc/frr"]
        assert nodes[n.name]["labels"]["utnt-role"] == "router"
        assert nodes[n.name]["labels"].get("utnt-domain") == n.domain
        assert (d / "nodes" / n.name).is_dir()
    for n in lab.hosts:
        assert nodes[n.name]["labels"]["utnt-role"] == "host" and "binds" not in nodes[n.name]
    assert (d / "README.md").is_file()


@pytest.mark.parametrize("mode", ["no-mgmt", "bridge"])
@pytest.mark.parametrize("name", ["mixed", "plain-ip", "asymmetric"])   # MPLS or not, LANs, two domains
def test_variants_are_valid(name, mode):
    exp = build_containerlab(load_lab(name), **MODES[mode])
    assert validate_clab(exp.doc) == []
    # what is written is what was validated
    assert yaml.safe_load(exp.files[exp.clab_file]) == json.loads(json.dumps(exp.doc))


def _valid_doc():
    return json.loads(json.dumps(build_containerlab(load_lab("mixed")).doc))


@pytest.mark.parametrize("breakage,where", [
    (lambda d: d["topology"]["nodes"]["pe1"].update(imagee="x"), "topology/nodes/pe1"),
    (lambda d: d["topology"]["nodes"]["pe1"]["sysctls"].update({"net.mpls.platform_labels": [1]}),
     "topology/nodes/pe1/sysctls/net.mpls.platform_labels"),
    (lambda d: d["topology"]["nodes"].update({"bad name!": {"kind": "linux"}}), "topology/nodes"),
    (lambda d: d.pop("name"), "(document)"),
    (lambda d: d["topology"]["nodes"]["pe1"].update(kind="frrouting"), "topology/nodes/pe1/kind"),
    (lambda d: d["topology"]["nodes"]["vp"].update(exec="ip addr"), "topology/nodes/vp/exec"),
    (lambda d: d.update(mgmt={"ipv4-subnet": "not-a-subnet"}), "mgmt/ipv4-subnet"),
    (lambda d: d["topology"]["nodes"]["pe1"].update({"mgmt-ipv4": "172.20.20.300"}), "topology/nodes/pe1/mgmt-ipv4"),
    (lambda d: d["topology"]["nodes"]["pe1"].update({"network-mode": "bridged"}), "topology/nodes/pe1/network-mode"),
    (lambda d: d["topology"]["links"].append({"endpoints": ["pe1:eth9", "nosuch:eth1"]}), "names no node"),
    (lambda d: d["topology"]["links"].append({"endpoints": ["pe1:eth1", "p1:eth7"]}), "used by two links"),
    (lambda d: d["topology"]["links"].append({"endpoints": ["pe1:eth0", "p1:eth7"]}), "management interface"),
])
def test_validator_catches_invalid_documents(breakage, where):
    doc = _valid_doc()
    assert validate_clab(doc) == []
    breakage(doc)
    problems = validate_clab(doc)
    assert problems, "the broken document was accepted"
    assert any(p.startswith(where + ":") or where in p for p in problems), problems


def test_validator_reads_the_schemas_unicode_patterns():
    """The schema's address patterns use \\p{N}\\p{L} (zone suffix), which Python's re lacks."""
    doc = _valid_doc()
    doc["topology"]["nodes"]["pe1"]["mgmt-ipv4"] = "172.20.20.5"
    doc["topology"]["nodes"]["p1"]["mgmt-ipv4"] = "172.20.20.6%eth0"
    assert validate_clab(doc) == []


def test_export_refuses_to_write_an_invalid_document(tmp_path, monkeypatch):
    real = cl.build_containerlab

    def broken(*a, **kw):
        exp = real(*a, **kw)
        exp.doc["topology"]["nodes"]["pe1"]["kind"] = "nonsense"
        return exp
    monkeypatch.setattr(cl, "build_containerlab", broken)
    with pytest.raises(errors.TestbedError, match="invalid"):
        export_containerlab(load_lab("mixed"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- interface names

@pytest.mark.parametrize("name", LABS)
def test_interface_renaming_is_consistent(exported, name):
    lab, d, _ = exported[name]
    doc = _doc(d, lab)
    nodes, links = doc["topology"]["nodes"], doc["topology"]["links"]
    other_end = {}
    for link in links:
        a, b = link["endpoints"]
        other_end[a], other_end[b] = b, a
    # every model interface is exactly one endpoint, under its containerlab name; eth0 is never used
    lab_eps = sorted(ep for ep in other_end if ep.split(":")[0] in lab.nodes)
    assert lab_eps == sorted(f"{n.name}:{clab_ifname(i.name)}" for n in lab.nodes.values() for i in n.interfaces)
    assert not [ep for ep in other_end if ep.endswith(":eth0")]
    for node in lab.nodes.values():
        mine = {clab_ifname(i.name): i for i in node.interfaces}
        if not node.is_router:
            for ifn, itf in mine.items():
                assert f"ip addr add {itf.address} dev {ifn}" in nodes[node.name]["exec"]
            continue
        conf = {f: (d / "nodes" / node.name / f).read_text() for f in ("zebra.conf", "ospfd.conf")}
        zebra, ospfd = _stanzas(conf["zebra.conf"]), _stanzas(conf["ospfd.conf"])
        # the FRR configs declare exactly the endpoints of the node (plus lo), with the model's addresses
        assert set(zebra) - {"lo"} == set(mine), f"{node.name}: zebra.conf interfaces vs clab endpoints"
        assert set(ospfd) - {"lo"} == set(mine), f"{node.name}: ospfd.conf interfaces vs clab endpoints"
        for ifn, itf in mine.items():
            assert f"ip address {itf.address}" in zebra[ifn]
            # a p2p description names the far end by its containerlab name: the link's other endpoint
            for line in zebra[ifn]:
                m = re.match(r"description to (\S+) (\S+) \(link", line)
                if m:
                    assert other_end[f"{node.name}:{ifn}"] == f"{m[1]}:{m[2]}"
        # MPLS: zebra `mpls enable` == ldpd interfaces == the exec'd net.mpls.conf.<if>.input
        enabled = {i for i, lines in zebra.items() if "mpls enable" in lines}
        execd = {m[1] for c in nodes[node.name].get("exec", [])
                 if (m := re.fullmatch(r"sysctl -w net\.mpls\.conf\.(\S+)\.input=1", c))}
        assert enabled == execd, node.name
        ldpd = d / "nodes" / node.name / "ldpd.conf"
        assert set(_stanzas(ldpd.read_text())) == enabled if ldpd.exists() else not enabled
        assert enabled <= set(mine)
    # LAN switches enslave exactly their linked ports
    for sw, n in nodes.items():
        if sw in lab.nodes or n["kind"] != "linux":
            continue
        ports = sorted(ep.split(":")[1] for ep in other_end if ep.split(":")[0] == sw)
        assert sorted(re.findall(r"ip link set (\S+) master br0", "\n".join(n["exec"]))) == ports


# ----------------------------------------------------------------------------- FRR's parser

@pytest.mark.frr
@pytest.mark.skipif(not ZEBRA.is_file(), reason=f"{ZEBRA} is absent: install Debian's frr package")
def test_frr_parser_accepts_exported_configs(exported):
    from testbed.frr.check import check_many
    items, where = [], []
    for name, (lab, d, files) in exported.items():
        for f in files:
            rel = f.relative_to(d)
            if rel.parts[0] == "nodes":
                items.append((f, CHECKER[f.name]))
                where.append(f"{name}/{rel}")
    assert len(items) > 50
    failures = [f"{w}: {r}" for w, res in zip(where, check_many(items)) for r in res]
    assert not failures, "FRR rejected exported config lines:\n" + "\n".join(failures)


# ----------------------------------------------------------------------------- MPLS, hosts, management

@pytest.mark.parametrize("name", ["mixed", "invisible-php", "linux-lsr", "plain-ip"])
def test_kernel_mpls_and_host_settings(exported, name):
    lab, d, _ = exported[name]
    nodes = _doc(d, lab)["topology"]["nodes"]
    for r in lab.routers:
        s, ex = nodes[r.name]["sysctls"], nodes[r.name]["exec"]
        assert s["net.ipv4.ip_forward"] == "1" and s["net.ipv4.icmp_errors_use_inbound_ifaddr"] == "1"
        if r.domain:
            assert s["net.mpls.platform_labels"] == str(cl.PLATFORM_LABELS)
            assert s["net.mpls.ip_ttl_propagate"] == str(int(lab.domains[r.domain].ttl_propagate))
        else:
            assert not [k for k in s if k.startswith("net.mpls")]
            assert not [c for c in ex if "net.mpls" in c]
        # interface-level MPLS settings cannot be sysctls: the interfaces do not exist yet
        assert not [k for k in s if k.startswith("net.mpls.conf.")]
        assert ex[-1] == "ip route del default"
    for n in lab.nodes.values():
        # global (not per-namespace) on older kernels: a `sysctls:` entry would stop the container
        s, ex = nodes[n.name]["sysctls"], nodes[n.name]["exec"]
        assert s["net.ipv4.icmp_ratelimit"] == "0" and not set(s) & set(cl.EXEC_SYSCTLS)
        assert "sysctl -w net.ipv4.icmp_msgs_per_sec=100000" in ex and "sysctl -w net.ipv4.icmp_msgs_burst=10000" in ex
    for h in lab.hosts:
        gw_if = next(clab_ifname(i.name) for i in h.interfaces if h.gateway in i.network)
        assert nodes[h.name]["exec"][-1] == f"ip route replace default via {h.gateway} dev {gw_if}"
    if name == "plain-ip":
        assert not any(k.startswith("net.mpls") for n in nodes.values() for k in n.get("sysctls", {}))


def test_ttl_propagate_follows_the_domain():
    lab = load_lab("mixed")
    nodes = build_containerlab(lab).doc["topology"]["nodes"]
    assert {r: nodes[r]["sysctls"]["net.mpls.ip_ttl_propagate"] for r in ("pe1", "p1", "pe3", "p4")} == \
        {"pe1": "1", "p1": "1", "pe3": "0", "p4": "0"}


def test_no_mgmt_mode_isolates_every_node():
    lab = load_lab("mixed")
    doc = build_containerlab(lab, mgmt=False).doc
    assert doc["mgmt"] == {"skip-when-unused": True}
    for name, n in doc["topology"]["nodes"].items():
        assert n["network-mode"] == "none", name
        assert "ip route del default" not in n.get("exec", [])


def test_bridge_mode_uses_host_bridges(tmp_path):
    lab = load_lab("mixed")
    files = export_containerlab(lab, tmp_path, lan="bridge")
    doc = yaml.safe_load(files[0].read_text())
    bridges = {k: v for k, v in doc["topology"]["nodes"].items() if v["kind"] == "bridge"}
    assert len(bridges) == len([l for l in lab.links if l.kind == "lan"]) == 2
    ports = [ep.split(":")[1] for l in doc["topology"]["links"] for ep in l["endpoints"] if ep.split(":")[0] in bridges]
    assert all(len(b) <= 15 for b in bridges) and all(len(p) <= 15 for p in ports)   # IFNAMSIZ
    assert len(set(ports)) == len(ports)
    script = (tmp_path / "host-bridges.sh").read_text()
    for b in bridges:
        assert f"ip link add {b} type bridge" in script and f"ip link del {b}" in script
    assert os.access(tmp_path / "host-bridges.sh", os.X_OK)
    assert subprocess.run(["sh", "-n", str(tmp_path / "host-bridges.sh")]).returncode == 0
    # exported again with switches, the bridge script goes
    export_containerlab(lab, tmp_path)
    assert not (tmp_path / "host-bridges.sh").exists()


def test_readme_tells_which_classes_linux_reproduces(exported):
    def row(name, cls):
        text = (exported[name][1] / "README.md").read_text()
        return next(line for line in text.split("\n") if line.startswith(f"| {cls}"))
    assert "**reproduced**" in row("invisible-php", "invisible-php")
    assert "**reproduced**" in row("invisible-uhp", "invisible-uhp")
    assert "**reproduced**" in row("linux-lsr", "implicit (silent)")
    for name in ("explicit", "implicit", "opaque"):
        assert "**not reproduced**" in row(name, name)
    text = (exported["mixed"][1] / "README.md").read_text()
    for needle in ("modprobe mpls_router mpls_iptunnel", "--runtime c9s", "network-mode: none", "skip-when-unused",
                   "net.mpls.conf.<interface>.input=1", "containerlab deploy -t mixed.clab.yml",
                   "traceroute -n 12.0.1.2"):
        assert needle in text, needle
    assert "{{" not in text and "{%" not in text


def test_export_is_reproducible(exported, tmp_path):
    lab, d, files = exported["mixed"]
    again = export_containerlab(load_lab("mixed"), tmp_path)
    assert [f.relative_to(tmp_path) for f in again] == [f.relative_to(d) for f in files]
    for a, b in zip(files, again):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert str(tmp_path) not in "".join(f.read_text() for f in again)     # no absolute paths


def test_reexport_removes_stale_frr_files(tmp_path):
    lab = load_lab("mixed")
    export_containerlab(lab, tmp_path)
    (tmp_path / "nodes" / "x1" / "ldpd.conf").write_text("stale")
    (tmp_path / "nodes" / "gone").mkdir()
    (tmp_path / "nodes" / "gone" / "zebra.conf").write_text("stale")
    export_containerlab(lab, tmp_path)
    assert not (tmp_path / "nodes" / "x1" / "ldpd.conf").exists()
    assert not (tmp_path / "nodes" / "gone" / "zebra.conf").exists()


# ----------------------------------------------------------------------------- CLI and deploy

def _cli(args, path: str, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PATH",)}
    env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "testbed.cli", *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_deploy_without_containerlab_fails_with_one_clear_line(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    out = tmp_path / "export"
    p = _cli(["deploy", "mixed", "--with", "containerlab", "--dir", str(out)], str(empty), tmp_path)
    assert p.returncode != 0
    lines = p.stderr.strip().split("\n")
    assert len(lines) == 1, p.stderr
    assert "containerlab is not installed" in lines[0] and "PATH" in lines[0]
    assert p.stdout == ""
    assert not out.exists()          # nothing written before the check


def test_deploy_runs_containerlab_when_present(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    fake = bin_dir / "containerlab"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexit "${{FAKE_RC:-0}}"\n')
    fake.chmod(0o755)
    out = tmp_path / "export"
    # plain-ip needs neither kernel MPLS nor host bridges, so the host checks pass anywhere
    p = _cli(["deploy", "plain-ip", "--with", "containerlab", "--dir", str(out), "--", "--reconfigure"],
             f"{bin_dir}:/usr/bin:/bin", tmp_path)
    assert p.returncode == 0, p.stderr
    assert log.read_text().split() == ["deploy", "-t", str(out / "plain-ip.clab.yml"), "--reconfigure"]
    env_rc = dict(os.environ, FAKE_RC="3", PATH=f"{bin_dir}:/usr/bin:/bin")
    p = subprocess.run([sys.executable, "-m", "testbed.cli", "deploy", "plain-ip", "--with", "containerlab",
                        "--dir", str(out)], env=env_rc, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "exited with status 3" in p.stderr


def test_deploy_names_what_the_host_lacks(tmp_path):
    doc = build_containerlab(load_lab("mixed"), lan="bridge").doc
    clab = tmp_path / "mixed.clab.yml"
    problems = host_problems(doc, clab, proc=tmp_path / "no-mpls", sys_net=tmp_path / "net")
    assert len(problems) == 2
    assert "modprobe mpls_router mpls_iptunnel" in problems[0]
    bridges = sorted(k for k, v in doc["topology"]["nodes"].items() if v["kind"] == "bridge")
    assert all(b in problems[1] for b in bridges) and "host-bridges.sh up" in problems[1]
    (tmp_path / "mpls").mkdir()
    (tmp_path / "mpls" / "platform_labels").write_text("0\n")
    for b in bridges:
        (tmp_path / "net" / b / "bridge").mkdir(parents=True)
    assert host_problems(doc, clab, proc=tmp_path / "mpls", sys_net=tmp_path / "net") == []
    assert host_problems(build_containerlab(load_lab("plain-ip")).doc, clab, proc=tmp_path / "no-mpls") == []


def test_export_cli(tmp_path, capsys):
    from testbed.cli import main
    assert main(["export", "invisible-php", "--to", "containerlab", str(tmp_path / "x"), "--image", "frr:test",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["clab_file"] == str(tmp_path / "x" / "invisible-php.clab.yml")
    doc = yaml.safe_load(Path(out["clab_file"]).read_text())
    assert doc["topology"]["nodes"]["pe1"]["image"] == "frr:test"
    assert main(["export", "nosuchlab", "--to", "containerlab", str(tmp_path / "y")]) == 2
