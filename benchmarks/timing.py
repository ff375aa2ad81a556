"""The benchmarks' one timing rule: the median wall time of `runs` calls (perf_counter)."""
import statistics
import time


def median_of(fn, runs: int = 7) -> float:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)
