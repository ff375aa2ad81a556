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


def module_at(commit: str, path: str, package: str, root):
    """The module at `path` (e.g. testbed/truth/report.py) as it was at `commit`, loaded beside
    the current package (as `package`._<name>_before, its relative imports resolved in
    `package`): the peer a benchmark measures the current code against."""
    import subprocess
    import types
    from pathlib import Path
    src = subprocess.run(["git", "-C", str(root), "show", f"{commit}:{path}"],
                         capture_output=True, text=True, check=True).stdout
    mod = types.ModuleType(f"{package}._{Path(path).stem}_before")
    mod.__package__ = package
    exec(compile(src, f"{commit}:{Path(path).name}", "exec"), mod.__dict__)
    return mod
