"""`testbed score`: any detector's result files against a lab's ground truth.

The lab is a library name, a lab file (with --set), or a running lab by name (the file
and parameters it was brought up with, from the namespace runtime's state).
"""
from __future__ import annotations

from testbed.errors import TestbedError


def lab_of(lab_arg: str | None, sets: list[str] | None, running: str | None):
    from testbed.lab import load_lab
    from testbed.lab.loader import parse_sets
    if running:
        from testbed.runtimes.netns import api
        st = api.status(running)
        if st.get("status") == "corrupt":
            raise TestbedError(st["problem"])
        if st.get("status") in ("down", "orphaned") or not st.get("source"):
            raise TestbedError(f"lab '{running}' is not up; start it with `testbed up LAB --name {running}` or give "
                               "the lab's name or file instead of --name")
        params = dict(st.get("params") or {})
        params.update(parse_sets(sets))
        return load_lab(st["source"], params, name=st.get("lab"))
    return load_lab(lab_arg, parse_sets(sets))


def recorded_on(text: str, name: str) -> tuple[str | None, str | None]:
    """(lab name, lab digest) a result file's text records (a `testbed run --json` or `testbed
    probe --json` document), (None, None) for any other file."""
    from testbed.errors import LabError
    from testbed.inputs import loads_json
    try:
        doc = loads_json(text, name, "result file")
    except (LabError, ValueError):
        return None, None
    if not isinstance(doc, dict):
        return None, None
    lab, dig = doc.get("lab"), doc.get("lab_digest")
    return (lab if isinstance(lab, str) else None), (dig if isinstance(dig, str) else None)


def check_recorded(lab, results: list[tuple[str, str, str]]) -> None:
    """Refuse (one line, exit 2) a result recorded on another lab, or on this lab's file as it
    was before an edit (`--force` skips this). results: (path, text, name) of each file read."""
    from testbed.errors import InputError
    from testbed.truth import lab_digest
    digest = None
    for f, text, shown in results:
        if f == "-":
            continue                    # what came on stdin names no file to refuse
        name, dig = recorded_on(text, shown)
        if name is not None and name != lab.name:
            raise InputError(f"{f}: lab: the result was recorded on lab '{name}', not '{lab.name}'; score it against "
                             f"'{name}', or add --force to score it here anyway")
        if dig is not None:
            digest = digest or lab_digest(lab)
            if dig != digest:
                raise InputError(f"{f}: lab_digest: the result was recorded on '{lab.name}' as it was before an edit "
                                 f"(or with other --set values: {dig[:19]} now {digest[:19]}); score it against the "
                                 "lab as it was run, or add --force")


def score_traces(lab, truth: dict, traces: list[dict], detector: str, files: list[str]) -> dict:
    from testbed.detectors.match import complete_sources, unmatched
    from testbed.detectors.views import visibility
    from testbed.scoring import score_run
    complete_sources(lab, truth, traces)
    score = score_run(lab, truth, traces)
    doc = {"lab": lab.name, "runtime": "files", "params": lab.params, "files": files,
           "detector": {"name": detector, "formats": sorted({t.get("format") for t in traces})},
           "traces": traces, "truth": truth["probes"], "score": score, "unmatched": unmatched(truth, traces)}
    vis = visibility(detector, score)
    if vis:
        doc["visibility"] = vis
    return doc


def score_files(lab_arg, results: list[str], fmt: str | None = None, sets=None, running: str | None = None,
                force: bool = False):
    """(documents, lab): one `testbed run --json`-shaped document per detector found in the
    files (files of one detector are scored together, different detectors side by side)."""
    from testbed.controlplane import build
    from testbed.detectors import read_result, traces_in
    from testbed.truth import ground_truth
    lab = lab_of(lab_arg, sets, running)
    read = [(f, *read_result(f)) for f in results]          # each file read once
    if not force:
        check_recorded(lab, read)
    groups: dict[str, tuple[list, list]] = {}
    for f, text, shown in read:
        for t in traces_in(text, shown, fmt):
            tr, files = groups.setdefault(t.get("detector") or "detector", ([], []))
            tr.append(t)
            if f not in files:
                files.append(f)
    truth = ground_truth(build(lab))
    return [score_traces(lab, truth, tr, det, files) for det, (tr, files) in groups.items()], lab
