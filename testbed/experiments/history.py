"""Every scored run recorded in a local SQLite index, to compare over time: `testbed runs`.

`testbed run`, `testbed score` and `testbed campaign` add one row per scored result: when,
the command, the lab (name, digest of its file and parameters when the document has one,
parameters), the runtime, the detector (name and version), the options given to it, the seed,
and the score (its totals, perfect, recall, precision, LSR recall). The index lives in
``$UTNT_RUNS_DB`` or else ``$XDG_DATA_HOME/utnt-lab/runs.sqlite`` (``~/.local/share/...``), in a
folder only its owner can enter; ``UTNT_RUNS_DB=off`` (or ``--no-record``) records nothing.
Recording never fails a run: a problem with the index is one warning line on stderr.
"""
from __future__ import annotations

import json
import os
import sqlite3
import stat
import sys
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    command TEXT NOT NULL,
    lab TEXT NOT NULL,
    lab_digest TEXT,
    params TEXT NOT NULL,
    runtime TEXT,
    detector TEXT NOT NULL,
    detector_version TEXT,
    options TEXT NOT NULL,
    seed INTEGER,
    traces INTEGER NOT NULL,
    perfect INTEGER NOT NULL,
    recall REAL NOT NULL,
    precision REAL NOT NULL,
    lsrs REAL NOT NULL,
    totals TEXT NOT NULL
)"""
COLUMNS = ("id", "at", "command", "lab", "lab_digest", "params", "runtime", "detector", "detector_version",
           "options", "seed", "traces", "perfect", "recall", "precision", "lsrs", "totals")


def db_path() -> Path | None:
    """Where the index is, or None when recording is off."""
    env = os.environ.get("UTNT_RUNS_DB")
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "no") else Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "utnt-lab" / "runs.sqlite"


def _open(path: Path, create: bool) -> sqlite3.Connection | None:
    """The index, refused when it is not a regular file of ours (a link planted in its place
    would have root write elsewhere)."""
    from testbed.errors import TestbedError
    if create:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            return None
    else:
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            raise TestbedError(f"{path}: the runs index is not a regular file of this user's; remove it or set "
                               "UTNT_RUNS_DB to another path")
    con = sqlite3.connect(str(path), timeout=10)
    con.execute(SCHEMA)
    return con


def row_of(command: str, doc: dict, totals: dict, options: list[str] | None = None) -> dict:
    """The row a scored result adds (doc: a run, score or campaign document)."""
    from testbed.experiments.gate import figures
    from testbed.scoring.score import is_perfect
    det = doc.get("detector")
    name = det.get("name") if isinstance(det, dict) else (det if isinstance(det, str) else "utnt")
    name = str(name or "utnt")
    f = figures(totals)
    return {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": command, "lab": str(doc.get("lab")),
            "lab_digest": doc.get("lab_digest"), "params": json.dumps(doc.get("params") or {}, sort_keys=True),
            "runtime": doc.get("runtime"), "detector": name,
            "detector_version": (det.get("version") if isinstance(det, dict) else None) or _version_of(name),
            "options": json.dumps(list(options or [])), "seed": doc.get("seed"),
            "traces": int(totals.get("traces", 0)), "perfect": int(is_perfect({**_TRACE_COUNTS, **totals})),
            "recall": f["recall"], "precision": f["precision"], "lsrs": f["lsrs"],
            "totals": json.dumps(totals, sort_keys=True)}


def _version_of(name: str) -> str | None:
    """A registered detector's version (its package's), None for one no longer registered."""
    from testbed.detectors import registry
    try:
        return registry.get(name).version
    except Exception:           # noqa: BLE001 - a name recorded from a file, a package gone
        return None


_TRACE_COUNTS = {"incomplete_traces": 0, "unmatched_traces": 0, "off_path_traces": 0, "flagged_not_revealed": 0}


def record(args, command: str, doc: dict, totals: dict, options: list[str] | None = None) -> int | None:
    """Add one scored result to the index (nothing when off); its row id, or None."""
    if getattr(args, "no_record", False):
        return None
    path = db_path()
    if path is None:
        return None
    try:
        row = row_of(command, doc, totals, options)
        con = _open(path, create=True)
        with con:
            cur = con.execute(f"INSERT INTO runs ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * len(COLUMNS[1:]))})",
                              [row[c] for c in COLUMNS[1:]])
        con.close()
        return cur.lastrowid
    except Exception as e:          # the run is done and printed: the index never fails it
        from testbed.errors import printable
        print(f"warning: the run was not recorded in {printable(str(path))}: {printable(str(e))[:200]}",
              file=sys.stderr)
        return None


def add_args(p) -> None:
    p.add_argument("--no-record", action="store_true",
                   help="do not add this run to the local index of runs (`testbed runs`)")


def runs(lab: str | None = None, detector: str | None = None, limit: int = 20) -> list[dict]:
    """The newest rows first."""
    path = db_path()
    if path is None:
        return []
    try:
        con = _open(path, create=False)
    except sqlite3.DatabaseError as e:
        from testbed.errors import TestbedError
        raise TestbedError(f"{path}: the runs index cannot be read ({e}); remove it to start a new one") from None
    if con is None:
        return []
    try:
        where, vals = [], []
        if lab:
            where.append("lab = ?")
            vals.append(lab)
        if detector:
            where.append("detector = ?")
            vals.append(detector)
        sql = f"SELECT {', '.join(COLUMNS)} FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "") + \
            " ORDER BY id DESC LIMIT ?"
        rows = [dict(zip(COLUMNS, r)) for r in con.execute(sql, [*vals, int(limit)])]
    except sqlite3.DatabaseError as e:
        from testbed.errors import TestbedError
        raise TestbedError(f"{path}: the runs index cannot be read ({e}); remove it to start a new one") from None
    finally:
        con.close()
    for r in rows:
        for k in ("params", "options", "totals"):
            try:
                r[k] = json.loads(r[k])
            except (TypeError, ValueError):
                r[k] = None
        r["perfect"] = bool(r["perfect"])
    return rows


def print_runs(rows: list[dict], console) -> None:
    from rich.markup import escape
    from rich.table import Table
    if not rows:
        console.print(f"no runs recorded ({db_path() or 'recording is off: UTNT_RUNS_DB=off'})")
        return
    t = Table(title=f"runs ({db_path()})")
    for col in ("id", "when", "lab", "digest", "detector", "runtime", "options", "seed", "traces", "recall",
                "precision", "LSRs", "perfect"):
        t.add_column(col, justify="right" if col in ("id", "traces", "recall", "precision", "LSRs") else "left")
    for r in rows:
        t.add_row(str(r["id"]), r["at"], escape(r["lab"]), (r["lab_digest"] or "")[:12],
                  escape(r["detector"] + (f" {r['detector_version']}" if r["detector_version"] else "")),
                  escape(str(r["runtime"] or "")), escape(" ".join(r["options"] or [])),
                  "" if r["seed"] is None else str(r["seed"]), str(r["traces"]), f"{r['recall']:.3f}",
                  f"{r['precision']:.3f}", f"{r['lsrs']:.3f}", "yes" if r["perfect"] else "no")
    console.print(t)
