"""What the typed documents cost the scorer (issue 22 item 3): per library lab, the truth walk
and score_run on the sim's traces, timed with the boundary validation (testbed/documents) as
shipped and with it replaced by a pass-through, and the validation alone. Median of REPS runs.

    .venv/bin/python benchmarks/bench_documents.py [REPS]
"""
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import testbed  # noqa: E402
from testbed import documents  # noqa: E402
from testbed.controlplane import build  # noqa: E402
from testbed.scoring import score as scorer  # noqa: E402
from testbed.truth import report  # noqa: E402

LABS = ("mixed", "two-domains-php", "ecmp-explicit", "five-vp", "l3vpn", "ldp-over-rsvp", "6pe", "back-to-back")


def _time(fn, reps):
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def _probe(lab):
    with testbed.up(lab, runtime="sim") as net:
        return net.probe(seed=1)


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    cases = []
    for name in LABS:
        lab = testbed.load(name)
        with testbed.up(lab, runtime="sim") as net:
            traces = net.probe(seed=1).traces
        cases.append((lab, build(lab), traces))

    def run():
        for lab, cp, traces in cases:
            truth = report.ground_truth(cp)
            scorer.score_run(lab, truth, [dict(t) for t in traces])

    real = documents.check
    typed, plain = [], []
    for _ in range(reps):                  # alternated, so the machine's load falls on both alike
        typed.append(_time(run, 1))
        scorer.check = report.check = lambda kind, doc, where="": doc       # the walk and scorer unchecked
        try:
            plain.append(_time(run, 1))
        finally:
            scorer.check = report.check = real
    typed, plain = statistics.median(typed), statistics.median(plain)
    probe = _time(lambda: [_probe(lab) for lab, _, _ in cases], 3)
    docs = [(report.ground_truth(cp), scorer.score_run(lab, report.ground_truth(cp), [dict(t) for t in tr]), tr)
            for lab, cp, tr in cases]
    alone = _time(lambda: [(documents.check("truth", t), documents.check("score", s), documents.check_traces(tr))
                           for t, s, tr in docs], reps)
    print(f"{len(cases)} library labs, truth walk + score_run, median of {reps}: "
          f"{plain * 1000:.1f} ms unchecked, {typed * 1000:.1f} ms with the typed documents "
          f"(+{(typed / plain - 1) * 100:.0f}%); validating truth, score and traces alone: {alone * 1000:.1f} ms; "
          f"for scale, probing the same labs on the sim: {probe * 1000:.0f} ms")


if __name__ == "__main__":
    main()
