"""Detectors as real VMs on a lab's tap (QEMU microvm; TCG here, ~10-60 s a boot
on Debian's kernel, a few seconds on ours).

Three boots: the smallest guest (busybox traceroute, the guest kernel's own stack) checked hop
by hop against the truth, the uTNT guest on Debian's kernel (uTNT's own stack on a packet
socket in the guest) scored against the truth, and the micro uTNT guest (our kernel, /init in
C) whose trace must equal a uTNT process's on the same lab hop for hop; then that micro guest
restored twice at once from its warm snapshot (a few seconds once the snapshot is made: one
more boot of the micro guest); and the original TNT's guest, scored against the truth. Skipped
with one line where QEMU or the image is missing; the micro guest's tests where its kernel is
not built (make guest-kernel), the TNT guest's where TNT is not built here."""
import pytest

from labnames import N
from testbed.controlplane import build
from testbed.lab import load_lab
from testbed.runtimes.netns import api
from testbed.runtimes.qemu import Image, accel, boot_on_lab, cmdline, micro_missing, qemu_argv, snapshot_line
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


def _boot_detector(lab, inst, argv, image, timeout):
    """A detector's guest booted on the vantage point's tap, its result read from the share: the
    boot's document, its run asserted to have ended well (else its error and console's tail)."""
    from testbed.experiments.vm import read_guest_result
    d = boot_on_lab(lab, inst, "vp", argv, image=image, timeout=timeout, read_result=read_guest_result)
    run = d["run"]
    assert run["ok"], (run["error"], run["console"][-800:])
    return d


def _assert_scored_correct(lab, truth, tr):
    """The trace scores correct against the truth, invisible-php's three hidden LSRs revealed."""
    s = score_trace(lab, truth, tr)
    assert [v["verdict"] for v in s["verdicts"]] == ["correct"], s["verdicts"]
    assert s["counts"]["hidden_lsrs_revealed"] == 3


def _micro_guest(lab_up, image):
    """The lab, its instance, its first probe's truth and the micro guest's image `image`; the
    test skipped with one line where the micro guest's kernel is not built."""
    why = micro_missing()
    if why:
        pytest.skip(why)
    lab, inst = lab_up
    return lab, inst, ground_truth(build(lab))["probes"][0], Image.ours(image)


def _process_trace(lab, inst, dst):
    """A uTNT process's trace to dst from the vantage point of the same lab instance: the trace
    a guest running uTNT must equal hop for hop."""
    from testbed.experiments.parallel import Entry, Instances
    ins = Instances(lab, inst)
    try:
        p = ins.run_utnt(Entry("vp", dst))
    finally:
        ins.close()
    assert p.error is None, p.error
    (tr,) = p.traces
    return tr


def _hops(tr):
    """A trace's hops as uTNT wrote them, all but their round-trip times."""
    return [{k: v for k, v in h.items() if k != "rtt_ms"} for h in tr["hops"]]


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
    d = _boot_detector(lab, inst, ["utnt", "-i", truth["to"]], Image.ours("utnt"), timeout=400)
    (tr,) = d["traces"]
    assert tr["src"] == d["address"]        # uTNT's own address, leased on the vantage point's LAN
    _assert_scored_correct(lab, truth, tr)


def test_tnt_guest_on_the_tap_is_scored_against_the_truth(lab_up):
    """The original TNT in a guest (`testbed vm LAB --image tnt`): its scamper daemon comes
    up (it resolves "localhost" as it starts: without /etc/hosts in the guest it died of a
    segfault and sc_tnt could not connect), sc_tnt traces through it, the warts come back on
    the share and the trace is scored correct. Skipped with one line where TNT is not built
    here (the image packs a local build: make vm-image with /opt/tnt-peer/bin)."""
    from testbed.detectors.tnt import find_prefix, missing_reason
    from testbed.runtimes.qemu import IMAGE_DIR
    if find_prefix() is None:
        pytest.skip(f"the original TNT is not built here: {missing_reason()}")
    if not (IMAGE_DIR / "initramfs-tnt.cpio.gz").exists():
        pytest.skip(f"no TNT guest in {IMAGE_DIR} (make vm-image packs the local TNT build)")
    lab, inst = lab_up
    truth = ground_truth(build(lab))["probes"][0]
    d = _boot_detector(lab, inst, ["tnt", "-i", truth["to"]], Image.ours("tnt"), timeout=400)
    run = d["run"]
    assert "utnt-guest: scamper ready" in run["console"], run["console"][-800:]
    (tr,) = d["traces"]
    _assert_scored_correct(lab, truth, tr)


def test_micro_guest_traces_hop_for_hop_like_the_process(lab_up):
    """The micro guest runs uTNT's own code: its trace equals a uTNT process's on the same
    lab hop for hop (all but round-trip times) and scores the same; within issue 24's sizes."""
    lab, inst, truth, img = _micro_guest(lab_up, "utnt-micro")
    assert img.kernel_kind == "micro" and img.mem_mb <= 64 and img.size_bytes() <= 6_000_000
    d = _boot_detector(lab, inst, ["utnt", "-i", truth["to"]], img, timeout=300)
    run = d["run"]
    assert run["status"] == 0 and "utnt-guest: result status=0" in run["console"]
    assert run["guest_pss_kb"] <= 48 * 1024, run["guest_pss_kb"]
    (tr,) = d["traces"]
    assert tr["src"] == d["address"]
    ref = _process_trace(lab, inst, truth["to"])
    assert _hops(tr) == _hops(ref)
    s, s_ref = score_trace(lab, truth, tr), score_trace(lab, truth, ref)
    assert [v["verdict"] for v in s["verdicts"]] == [v["verdict"] for v in s_ref["verdicts"]] == ["correct"]
    assert s["counts"] == s_ref["counts"]


def test_micro_guest_restored_from_its_snapshot_twice_at_once(lab_up):
    """Two events restore the same warm snapshot at once on the same LAN, each in its own QEMU
    with its own lease: each guest takes its own address and MAC from its serial line (the
    snapshot's NIC had another MAC: a frame to the lease's would not reach it), and each trace
    equals a uTNT process's hop for hop; neither boots (its first console line is `restored`)."""
    import threading

    from testbed.experiments.vm import read_guest_result
    from testbed.runtimes.qemu import warm_snapshot
    lab, inst, truth, img = _micro_guest(lab_up, "utnt-micro-snap")
    assert img.start == "snapshot" and img.kernel_kind == "micro"
    warm_snapshot(img)
    docs = [None, None]

    def one(k):
        docs[k] = boot_on_lab(lab, inst, "vp", ["utnt", "-i", truth["to"]], image=img, timeout=120,
                              read_result=read_guest_result)
    th = [threading.Thread(target=one, args=(k,)) for k in (0, 1)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    ref = _process_trace(lab, inst, truth["to"])
    assert docs[0]["address"] != docs[1]["address"] and docs[0]["mac"] != docs[1]["mac"]
    for d in docs:
        run = d["run"]
        assert run["ok"], (run["error"], run["console"][-800:])
        assert run["console"].lstrip().startswith("utnt-guest: restored"), run["console"][:300]
        assert "utnt-guest: init" not in run["console"]
        (tr,) = d["traces"]
        assert tr["src"] == d["address"]
        assert _hops(tr) == _hops(ref)


def test_snapshot_restore_argv_and_serial_line(tmp_path):
    """A restore starts QEMU with -incoming on the snapshot, the serial port on a socket (the
    event's line goes in) logged to the console file, QMP beside it; the line carries the
    lease's MAC, and an argument the guest would split at a space is refused."""
    from pathlib import Path

    from testbed.errors import InputError
    lease = {"address": "12.0.0.250", "gateway": "12.0.0.1", "network": "12.0.0.0/24", "tap": "ui00fa1234",
             "mac": "02:75:00:00:00:07"}
    img = Image(kernel="k", initrd="i", name="utnt-micro-snap", mem_mb=64, acpi=False, kernel_kind="micro",
                start="snapshot")
    argv = qemu_argv(img, lease, ["utnt-warm"], "S", str(tmp_path / "console"), restore="/x/s.mig", home=Path("/h"))
    assert argv[argv.index("-incoming") + 1] == "exec:cat /x/s.mig"
    assert argv[argv.index("-chardev") + 1] == "socket,id=c0,path=/h/serial,server=on,wait=off,logfile=" + \
        str(tmp_path / "console")
    assert argv[argv.index("-serial") + 1] == "chardev:c0" and "unix:/h/qmp,server=on,wait=off" in argv
    assert snapshot_line(lease, ["utnt", "-i", "12.0.1.2"]) == (
        "netdev.ipv4_addr=12.0.0.250 netdev.ipv4_gw_addr=12.0.0.1 netdev.ipv4_subnet_mask=255.255.255.0 "
        "netdev.mac=02:75:00:00:00:07 -- utnt -i 12.0.1.2")
    with pytest.raises(InputError, match="whitespace"):
        snapshot_line(lease, ["utnt", "-i", "12.0.1.2 x"])


def test_micro_guest_command_line_and_machine(tmp_path):
    """Without ACPI the micro guest needs microvm's acpi=off (virtio-mmio devices on the kernel
    command line) and reboot=t (it ends by rebooting; -no-reboot makes that QEMU's exit 0)."""
    lease = {"address": "12.0.0.250", "gateway": "12.0.0.1", "network": "12.0.0.0/24", "tap": "ui00fa1234",
             "mac": "02:75:00:00:00:01"}
    img = Image(kernel=str(tmp_path / "vmlinux"), initrd=str(tmp_path / "i"), name="utnt-micro", mem_mb=64,
                append="console=ttyS0 quiet panic=-1 reboot=t tsc=reliable", acpi=False, kernel_kind="micro")
    argv = qemu_argv(img, lease, ["utnt", "-i", "12.0.1.2"], str(tmp_path), str(tmp_path / "console"))
    assert argv[argv.index("-M") + 1] == "microvm,pit=on,rtc=on,acpi=off,ioapic2=off,auto-kernel-cmdline=off"
    assert "-no-reboot" in argv
    # the virtio-mmio devices go before the paper's `--` (after it they would be /init's arguments)
    line = argv[argv.index("-append") + 1]
    kernel, _, init = line.partition(" -- ")
    assert "reboot=t" in kernel and init == "utnt -i 12.0.1.2"
    assert "virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11" in kernel
    assert "virtio-net-device" in " ".join(argv) and "virtio-9p-device" in " ".join(argv)
    generic = Image(kernel="k")
    argv = qemu_argv(generic, lease, ["utnt"], str(tmp_path), str(tmp_path / "console"))
    assert argv[argv.index("-M") + 1] == "microvm,pit=on,rtc=on"      # Debian's kernel powers off by ACPI


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
