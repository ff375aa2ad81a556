"""Where independent cells run: a local process pool by default, Dask distributed when given
a scheduler address (`tcp://host:8786`, or a `distributed.Client`), in-process with workers=1.

    from testbed.experiments.pool import Executor
    with Executor(workers=2) as ex:                         # or Executor(scheduler="tcp://...")
        results = ex.map(fn, items)                         # results in the order of items

`fn` must be a module-level function and items picklable (they travel to other processes or
machines); every cell is independent, so a result never depends on where it ran.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

from testbed.errors import InputError, TestbedError


MAX_WORKERS = 64          # --workers: local processes (never more than the cells, either)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class Executor:
    def __init__(self, workers: int | None = None, scheduler=None):
        self.scheduler = scheduler
        self.workers = default_workers() if workers is None else max(1, int(workers))
        self._pool = None
        self._client = None
        self._own_client = False

    @property
    def kind(self) -> str:
        if self.scheduler is not None:
            return "dask"
        return "inline" if self.workers == 1 else "processes"

    def __enter__(self):
        if self.scheduler is not None:
            try:
                from distributed import Client
            except ImportError:
                raise TestbedError("a Dask scheduler was given but Dask is not installed: "
                                   "pip install 'utnt-lab[dask]'") from None
            if isinstance(self.scheduler, Client):
                self._client = self.scheduler
            else:
                try:
                    self._client = Client(self.scheduler, timeout=10)
                except (OSError, TimeoutError, ValueError) as e:
                    raise TestbedError(f"cannot reach the Dask scheduler at {self.scheduler}: {e}") from None
                self._own_client = True
        return self

    def _start_pool(self, cells: int):
        """The process pool, started for the first map: never more processes than cells
        (--workers 300 for 4 cells forked 300 processes)."""
        n = min(self.workers, cells)
        if n <= 1 or self._pool is not None:
            return
        import multiprocessing as mp
        # fork: the workers inherit what the caller already built (the lab, its control
        # plane) instead of rebuilding it; spawn where fork does not exist
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self._pool = ProcessPoolExecutor(n, mp_context=ctx)

    def __exit__(self, *exc):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._client is not None and self._own_client:
            self._client.close()
        self._pool = self._client = None

    def describe(self) -> str:
        return {"dask": f"Dask at {getattr(self.scheduler, 'scheduler_address', None) or self.scheduler}",
                "inline": "in this process"}.get(self.kind, f"{self.workers} local processes")

    def map(self, fn, items, progress=None, on_result=None) -> list:
        """fn over items, results in the order of items; progress(done, total) and
        on_result(done, total, result) are called as cells finish (in any order)."""
        items = list(items)
        out = [None] * len(items)

        def tick(done, r):
            if progress:
                progress(done, len(items))
            if on_result:
                on_result(done, len(items), r)
        if self._client is not None:
            from distributed import as_completed
            futs = self._client.map(fn, items, pure=False)
            index = {f.key: i for i, f in enumerate(futs)}
            for done, fut in enumerate(as_completed(futs), 1):
                out[index[fut.key]] = r = fut.result()
                tick(done, r)
            return out
        if self._pool is None and self.workers > 1:
            self._start_pool(len(items))
        if self._pool is None:
            for i, it in enumerate(items):
                out[i] = r = fn(it)
                tick(i + 1, r)
            return out
        from concurrent.futures import as_completed as done_iter
        from concurrent.futures.process import BrokenProcessPool
        futs = {self._pool.submit(fn, it): i for i, it in enumerate(items)}
        k = 0
        try:
            for k, f in enumerate(done_iter(futs), 1):
                out[futs[f]] = r = f.result()
                tick(k, r)
        except BrokenProcessPool:
            # a worker process died (killed, out of memory): no result of this run is vouched for
            raise TestbedError(f"a worker process of the pool died (killed, or out of memory) after {k - 1} of "
                               f"{len(items)} cells; nothing is reported from a broken pool: run again "
                               "(--workers 1 runs in this process)") from None
        return out


def add_args(parser, what: str = "cells"):
    """--workers and --scheduler, with the same meaning on every command that runs cells."""
    from testbed.cliargs import int_in
    parser.add_argument("--workers", type=int_in(1, MAX_WORKERS), default=None, metavar="N",
                        help=f"sim: local worker processes for the {what} (default: the cores, at most 8; "
                             "1 = in this process)")
    from testbed.cliargs import scheduler_address
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", type=scheduler_address,
                        help=f"sim: run the {what} on this Dask scheduler instead (pip install 'utnt-lab[dask]')")


def check_args(workers, scheduler, runtime: str = "sim"):
    """One clear line for what the executor cannot do."""
    if workers is not None and workers < 1:
        raise InputError(f"--workers {workers}: give 1 or more (1 runs in this process)")
    from testbed.runtimes import registry
    if scheduler is not None and not registry.get(runtime).in_process:
        raise InputError(f"--scheduler: cells run on a Dask cluster on the {' or '.join(registry.names(in_process=True))} "
                         f"runtime only, not {runtime}")
