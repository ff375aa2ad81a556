"""What the two micro-VM benchmarks (bench_vm.py, bench_guest_runtimes.py) share: the lab up with
its instances for the run, uTNT as a process beside the guests, the medians of a guest's boots,
a table's cells and the report at the end (--json or the table). Not a benchmark itself."""
import json
import os
import statistics
import sys
from contextlib import contextmanager

from testbed.experiments.parallel import Entry, Instances
from testbed.runtimes.netns import api


def med(xs):
    """The median of the figures measured (None: not measured, left out), to 3 places; None if none."""
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 3) if xs else None


def hops(tr):
    """A trace's hops as uTNT wrote them, all but their round-trip times."""
    return [{k: v for k, v in h.items() if k != "rtt_ms"} for h in tr.get("hops", [])]


@contextmanager
def lab_instances(lab, name):
    """The lab up as `name` and its Instances (the guests' tap and uTNT processes) for the run;
    closed and the lab down on the way out, also on failure."""
    api.up(lab, name=name)
    try:
        inst = Instances(lab, name)
        try:
            yield inst
        finally:
            inst.close()
    finally:
        api.down(name)


def utnt_process(inst, dst, runs):
    """uTNT as a process on the lab, `runs` times to dst: its first trace (what a guest's trace
    must equal hop for hop), its medians, and every run."""
    procs = [inst.run_utnt(Entry("vp", dst)) for _ in range(runs)]
    figures = {"pss_mb": med([p.pss_kb / 1024 for p in procs]),
               "first_probe_s": med([p.first_probe_s for p in procs]),
               "result_s": med([p.ended - p.started for p in procs])}
    return procs[0].traces[0], figures


def boot_medians(runs):
    """The medians of a guest's boots (boot_on_lab's run records) that both benchmarks report."""
    return {"boot_s": med([r["boot_s"] for r in runs]),
            "guest_uptime_at_init_s": med([r["guest_init_uptime"] for r in runs]),
            "first_probe_s": med([r["first_probe_s"] for r in runs]),
            "result_s": med([r["result_s"] for r in runs]),
            "guest_pss_mb": med([r["guest_pss_kb"] / 1024 for r in runs]),
            "qemu_rss_mb": med([r["host_rss_kb"] / 1024 for r in runs]),
            "qemu_cpu_s": med([r["cpu_s"] for r in runs])}


def cells(rows, cols, key, fmt):
    """One table line's cells, a column each: rows[col][key] by fmt when a number, else as it is
    ('-' when missing), right-aligned in 14."""
    out = []
    for c in cols:
        v = rows[c].get(key)
        out.append(f"{fmt.format(v) if isinstance(v, (int, float)) else (v or '-'):>14s}")
    return out


def report(out, print_table):
    """The end of a run: the machine's load into `out`, then `out` as JSON (--json) or its table."""
    out["load"] = round(os.getloadavg()[0], 1)
    if "--json" in sys.argv:
        print(json.dumps(out, indent=2))
    else:
        print_table(out)
