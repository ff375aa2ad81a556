"""nsutil's interface ioctls in a real namespace of their own: a failure names the interface
and what failed (never ignored), and offloads are really off afterwards (read back with the
kernel's own answer, the same ioctl ethtool -k uses)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from labnames import N  # noqa: E402

from testbed.errors import TestbedError as _TBError  # noqa: E402
from testbed.runtimes.netns import build, names, nsutil  # noqa: E402

pytestmark = pytest.mark.netns


@pytest.fixture
def ns():
    n = names.ns(N("pt-nsutil"), "h")
    subprocess.run(["ip", "netns", "add", n], check=True)
    try:
        subprocess.run(["ip", "-n", n, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"], check=True)
        yield n
    finally:
        subprocess.run(["ip", "netns", "del", n], check=True)


def test_set_up_of_a_missing_interface_names_it(ns):
    with nsutil.netns(ns):
        with pytest.raises(OSError, match="setting nosuch0 up: No such device"):
            nsutil.set_up(["lo", "nosuch0"])
        nsutil.set_up(["lo", "eth0"])
        assert nsutil._ifreq_flags_of("eth0") & nsutil.IFF_UP


def test_offloads_are_off_afterwards_and_a_missing_device_is_an_error(ns):
    with nsutil.netns(ns):
        before = nsutil.offloads("eth0")
        assert before["tx-checksum"] == 1           # veth starts with them on
        nsutil.disable_offloads("eth0")
        assert nsutil.offloads("eth0") == {"tso": 0, "gso": 0, "gro": 0, "tx-checksum": 0}
        with pytest.raises(OSError, match="nosuch0"):
            nsutil.disable_offloads("nosuch0")


def test_a_failing_node_configuration_is_one_clear_line(ns):
    plan = build.Plan(name="x", routers={"r": ns}, hosts={}, switch=None, p2p=[], lans=[], host_cfg=[],
                      router_ifs={ns: ["eth0", "gone7"]})
    with pytest.raises(_TBError, match=f"configuring namespace {ns} failed: setting gone7 up: No such device"):
        build.configure_nodes(plan)
