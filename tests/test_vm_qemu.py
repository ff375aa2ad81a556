"""Detectors as real VMs on a lab's tap (QEMU microvm; TCG here, ~10-60 s a boot).

Two boots only: the smallest guest (busybox traceroute, the guest kernel's own stack) checked
hop by hop against the truth, and the uTNT guest (uTNT's own stack on a packet socket in the
guest) scored against the truth. Skipped with one line where QEMU or the image is missing."""
import pytest

from labnames import N
from testbed.controlplane import build
from testbed.lab import load_lab
from testbed.runtimes.netns import api
from testbed.runtimes.qemu import Image, accel, boot_on_lab, cmdline, qemu_argv
from testbed.scoring.score import score_trace
from testbed.truth import ground_truth

pytestmark = [pytest.mark.netns, pytest.mark.vm]


@pytest.fixture(scope="module")
def lab_up():
    lab = load_lab("invisible-php")
    inst = N("vm-inv")
    api.up(lab, name=inst)
    yield lab, inst
    api.down(inst)
    assert api.status(inst)["status"] == "down"


def _visible_path(lab):
    """The nodes a plain traceroute shows: the forward path without the invisible tunnel's LSRs
    (pipe TTL at the ingress: they never see TTL expire), from the first router on."""
    p = ground_truth(build(lab))["probes"][0]
    path = p["paths"][0]
    hidden = {n for t in path["tunnels"] if t["hidden"] for n in t["lsrs"]}
    return [s["node"] for s in path["forward"][1:] if s["node"] not in hidden], p["to"]


def test_tiny_guest_traceroute_on_the_tap_matches_the_truth(lab_up):
    lab, inst = lab_up
    want, dst = _visible_path(lab)
    d = boot_on_lab(lab, inst, "vp", ["traceroute", "-q", "1", "-w", "2", "-m", "8", dst],
                    image=Image.ours("tiny"), timeout=300)
    run = d["run"]
    assert run["ok"], (run["error"], run["console"][-800:])
    assert run["status"] == 0 and "result status=0" in run["console"]
    assert run["accel"].startswith(accel()[1][:3])
    hops = d["hops"]
    # invisible-php: ce1 pe1 pe2 ce2 dst, the LSRs hidden (pipe TTL), the destination last
    assert [lab.owner_of(a) if a else None for a in hops] == want, hops
    assert hops[-1] == dst
    assert run["guest_pss_kb"] > 0 and run["host_pss_kb"] >= run["guest_pss_kb"]


def test_utnt_guest_on_the_tap_is_scored_against_the_truth(lab_up):
    lab, inst = lab_up
    truth = ground_truth(build(lab))["probes"][0]
    from testbed.experiments.vm import read_guest_result
    d = boot_on_lab(lab, inst, "vp", ["utnt", "-i", truth["to"]], image=Image.ours("utnt"), timeout=400,
                    read_result=read_guest_result)
    run = d["run"]
    assert run["ok"], (run["error"], run["console"][-800:])
    (tr,) = d["traces"]
    assert tr["src"] == d["address"]        # uTNT's own address, leased on the vantage point's LAN
    s = score_trace(lab, truth, tr)
    assert [v["verdict"] for v in s["verdicts"]] == ["correct"], s["verdicts"]
    assert s["counts"]["hidden_lsrs_revealed"] == 3


def test_paper_command_line_convention_and_user_images(tmp_path):
    lease = {"address": "12.0.0.250", "gateway": "12.0.0.1", "network": "12.0.0.0/24", "tap": "ui00fa1234",
             "mac": "02:75:00:00:00:01"}
    k = tmp_path / "app-utnt_qemu-x86_64"
    k.write_bytes(b"\0" * 1000)
    img = Image.user(str(k), mem_mb=8)
    line = cmdline(img, lease, ["-i", "12.0.1.2", "-p", "12345", "-o", "out.warts"])
    assert line == ("netdev.ipv4_addr=12.0.0.250 netdev.ipv4_gw_addr=12.0.0.1 netdev.ipv4_subnet_mask=255.255.255.0"
                    " -- -i 12.0.1.2 -p 12345 -o out.warts")
    argv = qemu_argv(img, lease, ["-i", "12.0.1.2"], str(tmp_path), str(tmp_path / "console"))
    joined = " ".join(argv)
    assert "-M pc" in joined and "-m 8" in joined and "virtio-net-pci" in joined and "virtio-9p-pci" in joined
    assert "mount_tag=fs0" in joined and "isa-debug-exit,iobase=0xf4" in joined and "-initrd" not in argv
    assert f"ifname={lease['tap']},script=no" in joined
    assert 83 in img.ok_status
