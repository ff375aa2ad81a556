"""One detector micro-VM on a lab's tap: boot it, collect its result, score it against the truth
(`testbed vm`)."""
from __future__ import annotations


def vm_probe(lab, name, source, dest, image, extra, timeout, progress=None) -> dict:
    from testbed.controlplane import build
    from testbed.experiments.parallel import truth_for
    from testbed.experiments.targets import probe_source, probe_target
    from testbed.runtimes.netns import api
    from testbed.runtimes.qemu import accel, boot_on_lab
    from testbed.scoring.score import score_trace
    from testbed.truth import ground_truth
    truth = ground_truth(build(lab))
    vp = probe_source(lab, source)
    dst = probe_target(lab, vp, dest)
    if image.name == "tiny":
        args = ["traceroute", "-q", "1", "-w", "2", "-m", "16", dst]
    elif image.name == "utnt":
        # uTNT's options only: the guest's address, gateway and interface are the lease's
        # (an --ip here would override the leased address)
        from testbed.experiments.run import utnt_args
        utnt_args(extra)
        args = ["utnt", "-i", dst, *extra]
    elif image.name == "tnt":
        args = ["tnt", "-i", dst, *extra]
    else:
        args = list(extra) or ["-i", dst]
    from testbed.runtimes.qemu import check_cmdline
    check_cmdline(image, args)              # before anything is brought up
    brought_up = False
    if api.status(name).get("status") != "up":
        if progress:
            progress(f"bringing {name} up in network namespaces")
        api.up(lab, name=name)
        brought_up = True
    try:
        if progress:
            progress(f"booting the {image.name} guest ({accel()[1]}) on {vp}'s LAN: {' '.join(args)}")
        doc = boot_on_lab(lab, name, vp, args, image=image, timeout=timeout)
    finally:
        if brought_up:
            if progress:
                progress(f"tearing {name} down")
            api.down(name)
    doc.update({"lab": lab.name, "name": name, "dst": dst, "args": args})
    tp = truth_for(truth, vp, dst)
    doc["score"] = None
    if tp is not None and doc["traces"]:
        s = score_trace(lab, tp, doc["traces"][0])
        doc["score"] = {"counts": s["counts"], "verdicts": [v["verdict"] for v in s["verdicts"]]}
    if tp is not None and doc["hops"] is not None:
        path = tp["paths"][0]
        hidden = {n for t in path["tunnels"] if t["hidden"] for n in t["lsrs"]}
        want = [s["node"] for s in path["forward"][1:] if s["node"] not in hidden]
        got = [lab.owner_of(a) if a else None for a in doc["hops"]]
        doc["score"] = {"hops": got, "expected_visible": want, "match": got == want}
    return doc
