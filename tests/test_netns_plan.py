"""The namespace runtime's plan and names (no root needed): what `up` will create."""
from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from testbed.errors import LabError
from testbed.errors import TestbedError as _TBError
from testbed.lab import lab_names, load_lab
from testbed.runtimes.netns import names
from testbed.runtimes.netns.plan import HOST_MTU, ROUTER_MTU, attach_address, make_plan, partition


def test_namespace_names_never_prefix_each_other():
    assert names.ns("a", "r1") == "tb-a.r1"
    assert not names.ns("a-b", "r1").startswith(names.prefix("a"))
    assert names.lab_of_ns("tb-a-b.r1") == "a-b"
    assert names.lab_of_ns("tb-a._sw") == "a"
    assert names.lab_of_ns("tbx-a.r1") is None and names.lab_of_ns("tb-nodot") is None
    assert names.lab_of_ns("tb-.r1") is None and names.lab_of_ns("tb-A.r1") is None


@pytest.mark.parametrize("bad", ["", "A", "1lab", "a.b", "a/b", "x" * 25, "tb lab"])
def test_bad_instance_names_are_refused(bad):
    with pytest.raises(_TBError, match="not a valid lab instance name"):
        names.check_name(bad)


def test_switch_side_names_fit_the_kernel_limit():
    assert names.bridge(3, "vp-lan") == "br-vp-lan"
    assert names.tap(3, "vp-lan") == "tap-vp-lan"
    assert names.bridge(12, "a-very-long-lan-name") == "br12"
    assert names.tap(12, "a-very-long-lan-name") == "tap12"
    assert len(names.switch_port(9999, 99)) <= names.IFNAMSIZ


@pytest.mark.parametrize("lab_name", lab_names())
def test_plan_of_every_library_lab(lab_name):
    lab = load_lab(lab_name)
    plan = make_plan(lab, "x")
    assert set(plan.routers) == {r.name for r in lab.routers}
    assert set(plan.hosts) == {h.name for h in lab.hosts}
    # one per node, the switch, and a prober namespace per router vantage point
    vps = sorted({p.source for p in lab.probes if lab.nodes[p.source].is_router})
    assert [v["router"] for v in plan.router_vps] == vps
    assert len(set(plan.namespaces)) == len(plan.namespaces) == \
        len(lab.nodes) + (1 if plan.switch else 0) + len(vps)
    assert all(n.startswith("tb-x.") for n in plan.namespaces)
    from testbed.runtimes.netns.names import lab_of_ns
    assert all(lab_of_ns(n) == "x" for n in plan.namespaces)
    # every interface of the model is created exactly once, with the model's name and MAC
    made = set()
    for nsa, ifa, maca, mtua, nsb, ifb, macb, mtub in plan.p2p:
        made |= {(nsa, ifa, maca), (nsb, ifb, macb)}
    for lan in plan.lans:
        for node, nsn, ifn, mac, swp, mtu in lan.members:
            made.add((nsn, ifn, mac))
            assert mtu == (ROUTER_MTU if lab.nodes[node].is_router else HOST_MTU)
    want = {(plan.routers.get(n.name) or plan.hosts[n.name], i.name, i.mac.hex(":"))
            for n in lab.nodes.values() for i in n.interfaces}
    assert made == want
    # switch-side names are unique in the switch namespace and short enough
    sw = [lan.bridge for lan in plan.lans] + [lan.tap for lan in plan.lans if lan.tap] + \
        [m[4] for lan in plan.lans for m in lan.members]
    assert len(sw) == len(set(sw)) and all(len(n) <= 15 for n in sw)


def test_attach_points_on_host_lans():
    lab = load_lab("invisible-php")
    plan = make_plan(lab, "x")
    by_lan = {a["lan"]: a for a in plan.attach}
    assert set(by_lan) == {"vp-lan", "dst-lan"}
    a = by_lan["vp-lan"]
    vp = lab.nodes["vp"].interfaces[0]
    assert a["namespace"] == "tb-x._sw" and a["tap"] == "tap-vp-lan" and a["bridge"] == "br-vp-lan"
    assert a["address"] == str(vp.network.broadcast_address - 1) and a["prefixlen"] == vp.network.prefixlen
    assert a["gateway"] == str(lab.nodes["vp"].gateway) and a["gateway_node"] == "ce1" and a["hosts"] == ["vp"]
    assert a["gateway_mac"] == lab.nodes["ce1"].interfaces[0].mac.hex(":")


def test_attach_address_skips_taken_addresses(tmp_path):
    f = tmp_path / "lab.yaml"
    f.write_text("""
routers: {r1: {}}
hosts: {h1: {}}
links:
  - {lan: [r1, {node: h1, address: 12.0.0.254/24}], name: lan}
""")
    lab = load_lab(str(f))
    assert attach_address(lab.links[0]) == IPv4Address("12.0.0.253")


def test_partition_is_even_and_contiguous():
    rs = [f"r{i}" for i in range(7)]
    assert partition(rs, 2) == [rs[:4], rs[4:]]
    assert partition(rs, 1) == [rs]
    assert partition(rs[:1], 4) == [rs[:1]]
    parts = partition([f"r{i}" for i in range(1000)], 3)
    assert [len(p) for p in parts] == [334, 333, 333] and sum(parts, []) == [f"r{i}" for i in range(1000)]


def test_lab_errors_stay_lab_errors():
    with pytest.raises(LabError):
        load_lab("no-such-lab")


def test_planning_has_no_side_effects():
    """The plan module is pure: importing it and planning every library lab loads nothing
    that talks to the kernel (no ctypes setns, no netlink, no subprocess) and needs no root."""
    import subprocess
    import sys
    code = ("import sys; from testbed.lab import lab_names, load_lab; "
            "from testbed.runtimes.netns.plan import make_plan; "
            "[make_plan(load_lab(n), 'x') for n in lab_names()]; "
            "bad = [m for m in ('testbed.runtimes.netns.nsutil', 'testbed.runtimes.netns.rtnl', "
            "'testbed.runtimes.netns.build', 'testbed.runtimes.netns.api', 'ctypes') if m in sys.modules]; "
            "print(','.join(bad))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""
