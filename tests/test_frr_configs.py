"""FRR configs rendered from the lab model: accepted by FRR's own parser, and stable (golden files).

Regenerate the golden files after an intended change of the templates:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_frr_configs.py -k golden
"""
from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from testbed.errors import LabError
from testbed.frr import CHECKER, FrrCheckError, check_config, check_config_detailed, check_many, render_lab, \
    render_router
from testbed.frr import check as frr_check
from testbed.lab import lab_names, load_lab

pytestmark = pytest.mark.frr

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "frr"
GOLDEN_LAB = GOLDEN / "lab.yaml"
EXPECTED = GOLDEN / "expected"
ZEBRA = Path("/usr/lib/frr/zebra")

needs_frr = pytest.mark.skipif(
    not ZEBRA.is_file(),
    reason=f"{ZEBRA} is absent: install Debian's frr package (apt-get install --no-install-recommends frr) "
           "to check the rendered configs with FRR's own parser")


def _golden_lab():
    return load_lab(GOLDEN_LAB)


def _lab_params():
    return [pytest.param(str(GOLDEN_LAB), id="golden-lab")] + [pytest.param(n, id=n) for n in lab_names()]


# ----------------------------------------------------------------------------- (1) FRR accepts every config

@needs_frr
@pytest.mark.parametrize("lab_ref", _lab_params())
def test_frr_parser_accepts_rendered_configs(lab_ref):
    try:
        lab = load_lab(lab_ref)
    except LabError as e:   # a lab that does not build is reported by the lab-loading tests
        pytest.skip(f"lab '{lab_ref}' does not load, so there is nothing to render: {e}")
    items, where = [], []
    for router in lab.routers:
        for fname, text in render_router(lab, router.name).items():
            items.append((text, CHECKER[fname]))
            where.append((router.name, fname, text))
    assert items, f"lab {lab.name} has no router configs"
    failures = []
    for (router, fname, text), rejected in zip(where, check_many(items)):
        lines = text.split("\n")
        for r in rejected:
            failures.append(f"{lab.name}/{router}/{fname} ({CHECKER[fname]}): {r}")
        if rejected:
            failures.append("    file:\n" + "\n".join(f"    {n:3d} {line}" for n, line in enumerate(lines, 1)))
    assert not failures, "FRR 8.4 rejected rendered config lines:\n" + "\n".join(failures)


# ----------------------------------------------------------------------------- (2) the checker catches bad lines

def _insert_after(text: str, anchor: str, new_line: str) -> tuple[str, int]:
    """Insert new_line after the first line equal to anchor; returns (text, 1-based line of new_line)."""
    lines = text.split("\n")
    i = lines.index(anchor)
    lines.insert(i + 1, new_line)
    return "\n".join(lines), i + 2


@needs_frr
@pytest.mark.parametrize("fname,anchor,bad", [
    ("zebra.conf", "interface eth0", " ip address 11.0.0.300/31"),        # invalid address
    ("zebra.conf", "interface eth0", " mpls enable-please"),              # misspelt command
    ("ospfd.conf", "interface eth0", " ip ospf cost 0"),                  # out of range (1-65535)
    ("ospfd.conf", "interface eth0", " mpls enable"),                     # zebra's command in ospfd's file
    ("ospfd.conf", "router ospf", " network 11.0.0.0/8 area 0"),          # conflicts with 'ip ospf area'
    ("ldpd.conf", "  discovery transport-address 11.255.0.1", "  label local allocate everything"),
])
def test_checker_reports_a_bad_line(fname, anchor, bad):
    lab = _golden_lab()
    good = render_router(lab, "pe1")[fname]
    text, lineno = _insert_after(good, anchor, bad)
    rejected = check_config_detailed(text, CHECKER[fname]).rejected
    assert [(r.line, r.text.strip()) for r in rejected] == [(lineno, bad.strip())], rejected
    assert check_config(text, CHECKER[fname]) == [f"line {lineno}: {bad.strip()}  [{rejected[0].reason}]"]


@needs_frr
def test_checker_reads_files_and_the_other_kinds(tmp_path):
    p = tmp_path / "zebra.conf"
    p.write_text("hostname r1\ninterface eth0\n ip address 10.0.0.1/31\n bogus line\n")
    assert check_config(p, "zebra") == ["line 4: bogus line  [No such command]"]
    assert check_config(str(p), "zebra.conf") == ["line 4: bogus line  [No such command]"]
    # vtysh --dryrun (integrated frr.conf): exits non-zero and names the line
    integrated = "hostname r1\ninterface eth0\n ip address 10.0.0.1\n ip ospf cost 5\nrouter ospf\n bogus\n"
    assert [r.split("  [")[0] for r in check_config(integrated, "vtysh")] == \
        ["line 3: ip address 10.0.0.1", "line 6: bogus"]
    assert check_config("no service integrated-vtysh-config\nservice bogus\n", "vtysh.conf") == \
        ["line 2: service bogus  [Unknown command]"]
    assert [r.split(":")[0] for r in check_config("ospfd=yes\nldpd=maybe\nfoo bar\n", "daemons")] == \
        ["line 2", "line 3"]
    with pytest.raises(ValueError, match="cannot check"):
        check_config("hostname r1\n", "nosuchd")


def test_checker_never_reports_an_unparsed_file_as_accepted(tmp_path, monkeypatch):
    """A 'daemon' that parses nothing (here a fake one) must raise, not return []."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("the daemon check needs root and unshare")
    fake = tmp_path / "zebra"
    fake.write_text("#!/bin/sh\necho 'zebra: something went wrong'\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setattr(frr_check, "FRR_SBIN", tmp_path)
    with pytest.raises(FrrCheckError, match="did not parse the config to its end"):
        check_config("hostname r1\n", "zebra")


def _frr_leftovers() -> set[str]:
    out = set()
    vt = Path("/var/tmp/frr")
    if vt.is_dir():
        out |= {f"/var/tmp/frr/{p.name}" for p in vt.iterdir() if re.fullmatch(r"(zebra|ospfd|ldpd)\.[1-9]", p.name)}
    out |= {str(p) for p in Path("/run/frr").glob("ospfd-gr.json")} if Path("/run/frr").is_dir() else set()
    return out


def _etc_frr_state():
    d = Path("/etc/frr")
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in d.iterdir()} if d.is_dir() else {}


@needs_frr
def test_checker_leaves_nothing_behind(monkeypatch):
    # checks of our own in a temp folder of our own: other tests (pytest-xdist) check configs
    # at the same time, and their checks must not count as our leftovers
    mine = tempfile.mkdtemp(prefix="fc-", dir="/tmp")
    os.chmod(mine, 0o755)                 # FRR's daemons (user frr) read the configs below it
    monkeypatch.setattr(tempfile, "tempdir", mine)
    before, etc_before = _frr_leftovers(), _etc_frr_state()
    lab = _golden_lab()
    files = render_router(lab, "pe1")
    assert check_many([(files[f], CHECKER[f]) for f in ("zebra.conf", "ospfd.conf", "ldpd.conf")]) == [[], [], []]
    with pytest.raises(FrrCheckError, match="no answer within"):
        check_config(files["ldpd.conf"], "ldpd", timeout=0.001)
    assert frr_check._tmp_base() == str(Path(mine).resolve())
    ps = subprocess.run(["ps", "-eo", "pid,stat,args"], capture_output=True, text=True).stdout
    assert f"{mine}/frr-check-" not in ps, ps
    assert _frr_leftovers() <= before
    assert _etc_frr_state() == etc_before
    assert not list(Path(mine).glob("frr-check-*"))
    os.rmdir(mine)


# ----------------------------------------------------------------------------- (3) golden files

def test_golden_files():
    lab = _golden_lab()
    rendered = {f"{r.name}/{f}": text for r in lab.routers for f, text in render_router(lab, r.name).items()}
    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(EXPECTED, ignore_errors=True)
        for rel, text in rendered.items():
            (EXPECTED / rel).parent.mkdir(parents=True, exist_ok=True)
            (EXPECTED / rel).write_text(text)
        return
    expected = {p.relative_to(EXPECTED).as_posix(): p.read_text()
                for p in sorted(EXPECTED.rglob("*")) if p.is_file()}
    hint = "if the change is intended: UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_frr_configs.py -k golden"
    assert sorted(rendered) == sorted(expected), (
        f"rendered files differ from {EXPECTED}: missing {sorted(set(expected) - set(rendered))}, "
        f"new {sorted(set(rendered) - set(expected))}; {hint}")
    diffs = []
    for rel in sorted(rendered):
        if rendered[rel] != expected[rel]:
            diffs += difflib.unified_diff(expected[rel].splitlines(keepends=True), rendered[rel].splitlines(keepends=True),
                                          f"expected/{rel}", f"rendered/{rel}")
    assert not diffs, "".join(diffs) + "\n" + hint


def _stanza(text: str, header: str) -> list[str]:
    """The lines of the stanza opened by `header` (up to its 'exit')."""
    lines = text.split("\n")
    i = lines.index(header)
    out = []
    for line in lines[i + 1:]:
        if line.strip() in ("exit", "!"):
            break
        out.append(line.strip())
    return out


def test_knobs_reach_the_configs():
    lab = _golden_lab()
    pe1, pe2, j1, x1 = (render_router(lab, n) for n in ("pe1", "pe2", "j1", "x1"))
    # Cisco core: ldp all (links and loopbacks of the domain), uhp (explicit null)
    assert "label local advertise explicit-null" in pe1["ldpd.conf"]
    assert "  label local allocate for LDP-FECS" in pe1["ldpd.conf"]
    acl = [ln.split()[-1] for ln in pe1["ldpd.conf"].splitlines() if ln.startswith("access-list LDP-FECS")]
    assert any(a.endswith("/32") for a in acl) and any(not a.endswith("/32") for a in acl)
    # Juniper domain, vendor default: loopbacks only, php
    jacl = [ln.split()[-1] for ln in j1["ldpd.conf"].splitlines() if ln.startswith("access-list LDP-FECS")]
    assert jacl and all(a.endswith("/32") for a in jacl)
    assert "explicit-null" not in j1["ldpd.conf"]
    assert "router-id 11.255.0.1" in pe1["ldpd.conf"] and "discovery transport-address 11.255.0.1" in pe1["ldpd.conf"]
    # no GTSM: an LDP session between loopbacks may cross a third router (TTL 254)
    assert "ttl-security disable" in _stanza(pe1["ldpd.conf"], " address-family ipv4")
    # pe1: eth0 toward host h1 (passive, no MPLS), eth1 toward p1 (cost 20), eth2 toward pe2 (/30, cost 100)
    assert "ip ospf passive" in _stanza(pe1["ospfd.conf"], "interface eth0")
    assert "mpls enable" not in _stanza(pe1["zebra.conf"], "interface eth0")
    assert "ip ospf cost 20" in _stanza(pe1["ospfd.conf"], "interface eth1")
    assert "mpls enable" in _stanza(pe1["zebra.conf"], "interface eth1")
    assert _stanza(pe1["zebra.conf"], "interface eth2")[1] == "ip address 11.0.0.9/30"
    assert "  interface eth0" not in pe1["ldpd.conf"] and "  interface eth1" in pe1["ldpd.conf"]
    # pe2's LAN toward the other domain: OSPF broadcast, no MPLS; j1 on the same LAN: MPLS toward j2
    assert "ip ospf network broadcast" in _stanza(pe2["ospfd.conf"], "interface eth2")
    assert "mpls enable" not in _stanza(pe2["zebra.conf"], "interface eth2")
    assert "  interface eth2" not in pe2["ldpd.conf"]
    assert "mpls enable" in _stanza(j1["zebra.conf"], "interface eth0")
    # x1: no MPLS domain -> no ldpd
    assert "ldpd.conf" not in x1 and "ldpd=no" in x1["daemons"].split("\n") and "ospfd=yes" in x1["daemons"]
    assert "ldpd=yes" in pe1["daemons"].split("\n")
    # hosts get nothing
    assert render_router(lab, "h1") == {}


def test_render_lab_writes_router_dirs(tmp_path):
    lab = _golden_lab()
    (tmp_path / "x1").mkdir()
    (tmp_path / "x1" / "ldpd.conf").write_text("stale")
    paths = render_lab(lab, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == sorted(
        f"{r.name}/{f}" for r in lab.routers for f in render_router(lab, r.name))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(r.name for r in lab.routers)
    assert not (tmp_path / "x1" / "ldpd.conf").exists()
    assert (tmp_path / "pe1" / "ldpd.conf").read_text() == render_router(lab, "pe1")["ldpd.conf"]
    logged = render_router(lab, "pe1", log_dir="/run/lab/pe1")
    assert "log file /run/lab/pe1/ospfd.log informational" in logged["ospfd.conf"]


@needs_frr
def test_configs_with_log_files_are_accepted():
    """`log file` is checked without creating the file (the checker points it into its temp dir)."""
    lab = _golden_lab()
    files = render_router(lab, "pe1", log_dir="/run/lab/does-not-exist/pe1")
    assert check_many([(files[f], CHECKER[f]) for f in ("zebra.conf", "ospfd.conf", "ldpd.conf")]) == [[], [], []]
    assert not Path("/run/lab/does-not-exist").exists()
