"""One detector micro-VM on a lab's tap: boot it, collect its result, score it against the truth
(`testbed vm`)."""
from __future__ import annotations


def read_guest_result(doc: dict, run) -> None:
    """What a detector guest wrote, into doc["traces"] (boot_on_lab's read_result): uTNT's
    result.json, read like any result file (testbed.inputs: bounded, strict JSON, IPv4
    addresses), or TNT's warts through `sc_tnt -d 1`; a bad one fails the run in one line."""
    from testbed.runtimes.qemu import warts_dump
    if "result.json" in run.files and run.ok:
        from testbed.errors import LabError
        from testbed.inputs import LIMITS, decode, loads_json
        try:
            data = run.files["result.json"]
            if len(data) > LIMITS["vm"]:
                raise ValueError(f"larger than {LIMITS['vm'] >> 20} MiB")
            from testbed.detectors.utnt_json import parse_doc
            doc_ = loads_json(decode(data, "result.json", "result file"), "result.json", "result file")
            parse_doc(doc_, "result.json")              # checked; the traces are kept as the guest wrote them
            doc["traces"] = doc_["traces"] if isinstance(doc_, dict) and "traces" in doc_ else []
        except (ValueError, LabError) as e:
            doc["run"]["error"] = f"result.json from the guest is not uTNT JSON: {e}"
            doc["run"]["ok"] = False
    warts = sorted(f for f in run.files if f.endswith(".warts"))
    if warts and not doc["traces"] and run.ok:
        doc["dump"] = warts_dump(run.files[warts[0]])
        if doc["dump"]:
            from testbed.detectors.tnt_text import parse as parse_tnt_dump
            from testbed.errors import LabError
            try:
                doc["traces"] = parse_tnt_dump(doc["dump"], "the guest's sc_tnt -d 1")
            except LabError as e:
                doc["run"]["error"] = f"the guest's TNT dump is not readable: {e}"
                doc["run"]["ok"] = False
        doc["traces_from"] = warts[0]


def vm_probe(lab, name, source, dest, image, extra, timeout, progress=None) -> dict:
    from testbed.controlplane import build
    from testbed.experiments.parallel import truth_for
    from testbed.targets import probe_source, probe_target
    from testbed.runtimes.netns import api
    from testbed.runtimes.qemu import accel, boot_on_lab
    from testbed.scoring.score import score_trace
    from testbed.truth import ground_truth
    truth = ground_truth(build(lab))
    vp = probe_source(lab, source)
    dst = probe_target(lab, vp, dest)
    if image.name == "tiny":
        args = ["traceroute", "-q", "1", "-w", "2", "-m", "16", dst]
    elif image.name in ("utnt", "utnt-micro", "utnt-micro-snap"):
        # uTNT's options only: the guest's address, gateway and interface are the lease's
        # (an --ip here would override the leased address)
        from testbed.detectors.utnt import utnt_args
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
        doc = boot_on_lab(lab, name, vp, args, image=image, timeout=timeout, read_result=read_guest_result)
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
