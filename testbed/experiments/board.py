"""`testbed scoreboard`: a registered detector's score (uTNT's by default) over the whole library, one row per lab."""
from __future__ import annotations

import secrets

from testbed.api import run as run_lab
from testbed.lab import lab_names, load_lab

COLUMNS = ("present", "detected", "class_correct", "ingress_correct", "egress_correct", "lsrs_present",
           "lsrs_found", "hidden_lsrs_present", "hidden_lsrs_revealed", "false_tunnels", "false_lsrs",
           "undetectable", "flagged_not_revealed", "incomplete_traces")


def _row(item: tuple) -> dict:
    """One lab's scoreboard row (module level: a cell the executor can send anywhere)."""
    name, runtime, extra, (detector, cmd, fmt), seed, instance = item
    doc = run_lab(load_lab(name), runtime=runtime, extra=extra, detector=detector, detector_cmd=cmd, fmt=fmt,
                  seed=seed, name=instance)
    return {"lab": name, "runtime": runtime, "detector": doc["detector"]["name"], "perfect": doc["score"]["perfect"],
            **{k: doc["score"]["totals"][k] for k in COLUMNS},
            "attempts_without_tunnel": sum(len(h.get("attempts", [])) for t in doc["traces"] for h in t["hops"]),
            "probes": sum(t.get("total_probes") or 0 for t in doc["traces"]),
            # traces the run could not vouch for (a lab found broken, a detector that failed)
            "unvouched": [{**u, "lab": name} for u in doc.get("unvouched") or []]}


def scoreboard(runtime: str = "sim", labs: list[str] | None = None, progress=None, extra=None,
               detector: str | None = None, seed=None, workers: int | None = 1, scheduler=None,
               detector_cmd: str | None = None, fmt: str | None = None) -> list[dict]:
    """One row per lab, in the library's order, of a registered detector (a name, or a user's
    command template detector_cmd; checked before any lab runs). On the sim the labs run through
    the executor (testbed.experiments.pool: this process, local processes or Dask; the same rows
    wherever they ran); on namespaces one at a time. progress(lab) is called as each lab finishes."""
    from testbed.experiments.pool import Executor, check_args
    from testbed.detectors.registry import check_detector
    check_args(workers, scheduler, runtime)
    check_detector(runtime, detector, extra, detector_cmd, fmt)
    from testbed.runtimes import registry
    in_process = registry.get(runtime).in_process
    tag = secrets.token_hex(2)          # lab instances: names unique to this run, beside anyone's labs
    names = list(labs or lab_names())
    items = [(name, runtime, extra, (detector, detector_cmd, fmt), seed,
              None if in_process else f"sb{tag}-{name}"[:24])
             for name in names]
    if not in_process or (len(items) <= 1 and scheduler is None):
        workers, scheduler = 1, None
    with Executor(workers=workers, scheduler=scheduler) as ex:
        return ex.map(_row, items, on_result=(lambda done, total, row: progress(row["lab"])) if progress else None)


def to_markdown(rows: list[dict]) -> str:
    head = ("| lab | tunnels | detected | class | ingress | egress | LSRs found | hidden LSRs revealed | "
            "flagged, not revealed | false tunnels | false LSRs | undetectable | incomplete traces | probes |")
    out = [head, "|" + "---|" * 14]
    for r in rows:
        out.append(f"| {r['lab']} | {r['present']} | {r['detected']} | {r['class_correct']} | {r['ingress_correct']} | "
                   f"{r['egress_correct']} | {r['lsrs_found']}/{r['lsrs_present']} | "
                   f"{r['hidden_lsrs_revealed']}/{r['hidden_lsrs_present']} | {r['flagged_not_revealed']} | "
                   f"{r['false_tunnels']} | {r['false_lsrs']} | {r['undetectable']} | {r['incomplete_traces']} | "
                   f"{r['probes']} |")
    return "\n".join(out)


def scoreboard_markdown() -> str:
    return (f"Generated on the sim runtime (`testbed scoreboard --runtime sim --seed 1`):\n\n"
            f"{to_markdown(scoreboard('sim', seed=1))}")
