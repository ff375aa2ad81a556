"""The control plane's costly part cached on disk per lab (issue 23): `validate`, `truth`,
`score`, `run` and every engine worker of one lab then compute SPF and LDP once.

What is kept: all-pairs IGP distances, the per-(prefix, router) equal-cost first-hop masks and
every router's LDP bindings (compute._build's numpy state); the tables are rebuilt from them
(fast). The key is a SHA-256 of every input those depend on (routers, interfaces, addresses,
costs, failed links, domains, per-router LDP mode, popping, label base, order and SRGB) and of
this code's own source, so an edit of the lab or of the code is a new entry.

Every entry is untrusted input: it is read only from a folder of our own (created 0700, refused
if another user owns it or others can write it), only if the file is ours and not writable by
others, with numpy's loader and pickles refused, and used only when its recorded key, shapes,
value ranges and content digest all check out; otherwise it is ignored (and rewritten). Entries
are written whole (a temporary file renamed into place).

Folder: $TESTBED_CP_CACHE if set (`off` turns caching off), else $XDG_CACHE_HOME/utnt-lab/cp,
else ~/.cache/utnt-lab/cp. Labs under MIN_ROUTERS routers are not cached (they build in ms).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from testbed.lab.model import Lab

    from .aliases import Bound, FloatArray, IntArray, Nbrs, Owners

    Entry = tuple[FloatArray, IntArray, dict[str, Bound]]     # (D, masks, bound) as compute._build keeps them

MIN_ROUTERS = 64
MAX_BYTES = 1 << 30
ENV = "TESTBED_CP_CACHE"
FORMAT = 1
stats = {"hits": 0, "misses": 0, "ignored": 0, "written": 0}     # this process's, for tests and benchmarks


def folder() -> Path | None:
    v = os.environ.get(ENV)
    if v is not None:
        return None if v.strip().lower() in ("off", "0", "no", "") else Path(v)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "utnt-lab" / "cp"


def _code_version() -> str:
    h = hashlib.sha256()
    here = Path(__file__).parent
    for f in ("compute.py", "tables.py", "cache.py"):
        h.update((here / f).read_bytes())
    return h.hexdigest()


def key(lab: Lab, owners: Owners, nbrs: Nbrs) -> str | None:
    """The entry's name for this lab (None: not cached)."""
    if len(lab.routers) < MIN_ROUTERS or folder() is None:
        return None
    doc = {"format": FORMAT, "code": _code_version(),
           "routers": [r.name for r in lab.routers],
           "owners": [[str(p), own] for p, own in owners.items()],
           "nbrs": [[r, [[i, n, str(ip), c] for i, n, ip, c in lst]] for r, lst in nbrs.items()],
           "loopbacks": [str(r.loopback) for r in lab.routers],
           "links": [[str(link.network), sorted(link.nodes)] for link in lab.links],
           "domains": [[dn, dm.routers, dm.external, dm.sr] for dn, dm in lab.domains.items()],
           "mpls": [[r.name, r.ldp, r.popping, r.personality.label_base, r.personality.label_order,
                     r.personality.srgb_base] for r in lab.routers if r.domain]}
    return hashlib.sha256(json.dumps(doc, default=str).encode()).hexdigest()


def _safe_dir(create: bool) -> Path | None:
    d = folder()
    if d is None:
        return None
    try:
        if create:
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(d)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
        return None                   # not ours, or others may write there: never read from it
    return d


def _digest(arrays: dict[str, npt.NDArray[np.generic]]) -> str:
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = arrays[k]
        h.update(f"{k}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def load(k: str, n: int, n_prefixes: int, words: int, nbr_count: list[int], routers: list[str]) -> Entry | None:
    """(D, masks, bound) of entry k if it is there and checks out, else None."""
    import numpy as np
    d = _safe_dir(create=False)
    if d is None:
        return None
    path = d / f"{k}.npz"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        stats["misses"] += 1
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022 \
                    or st.st_size > MAX_BYTES:
                raise ValueError("not a private regular file")
            data = f.read(MAX_BYTES + 1)
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {name: z[name] for name in ("D", "masks", "b_router", "b_prefix", "b_label", "meta")}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
        D, masks = arrays["D"], arrays["masks"]
        br, bp, bl = arrays["b_router"], arrays["b_prefix"], arrays["b_label"]
        ok = (meta.get("key") == k and meta.get("format") == FORMAT and meta.get("digest") == _digest(arrays)
              and D.dtype == np.float64 and D.shape == (n, n) and masks.dtype == np.int64
              and masks.shape == (n_prefixes, n, words) and br.dtype == bp.dtype == bl.dtype == np.int64
              and br.shape == bp.shape == bl.shape and br.ndim == 1)
        if ok and n:
            fin = np.isfinite(D)
            ok = bool((np.diag(D) == 0).all() and not np.isnan(D).any() and (D[fin] >= 0).all())
        if ok and masks.size:
            # a first-hop bit only for a neighbour the router has (words of 62 bits)
            cap = np.zeros((n, words), dtype=np.int64)
            for i, c in enumerate(nbr_count):
                for w in range(words):
                    bits = min(62, max(0, c - 62 * w))
                    cap[i, w] = (1 << bits) - 1
            ok = bool(((masks & ~cap[None, :, :]) == 0).all() and (masks >= 0).all())
        if ok and br.size:
            ok = bool((br >= 0).all() and (br < n).all() and (bp >= 0).all() and (bp < n_prefixes).all()
                      and (((bl >= 16) & (bl < (1 << 20))) | (bl == 0) | (bl == 3)).all())
        if not ok:
            raise ValueError("does not check out")
    except Exception:                  # noqa: BLE001 - any fault of an untrusted file: ignore it
        stats["ignored"] += 1
        return None
    # router -> (prefix indices, labels): rows are grouped by router, one binding per prefix
    bound: dict[str, Bound] = {}
    if br.size:
        if (np.diff(br) < 0).any():
            stats["ignored"] += 1
            return None
        cuts = np.flatnonzero(np.diff(br)) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [br.size]))
        for s, e in zip(starts.tolist(), ends.tolist()):
            pis = bp[s:e]
            if np.unique(pis).size != pis.size:
                stats["ignored"] += 1
                return None
            bound[routers[int(br[s])]] = (pis, bl[s:e])
    stats["hits"] += 1
    return D, masks, bound


def save(k: str, D: FloatArray, masks: IntArray, bound: dict[str, Bound], ix: dict[str, int]) -> None:
    import numpy as np
    d = _safe_dir(create=True)
    if d is None:
        return
    order = sorted(bound, key=ix.__getitem__)       # grouped by router, in router order
    empty = np.zeros(0, dtype=np.int64)
    arrays = {"D": np.ascontiguousarray(D, dtype=np.float64), "masks": np.ascontiguousarray(masks, dtype=np.int64),
              "b_router": np.concatenate([np.full(len(bound[r][0]), ix[r], dtype=np.int64) for r in order] or [empty]),
              "b_prefix": np.concatenate([np.asarray(bound[r][0], dtype=np.int64) for r in order] or [empty]),
              "b_label": np.concatenate([np.asarray(bound[r][1], dtype=np.int64) for r in order] or [empty])}
    meta = {"key": k, "format": FORMAT, "digest": _digest(arrays)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".cp-", suffix=".npz", dir=d)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            # (named one by one: a **dict of arrays could be the allow_pickle flag to mypy)
            np.savez(f, D=arrays["D"], masks=arrays["masks"], b_router=arrays["b_router"],
                     b_prefix=arrays["b_prefix"], b_label=arrays["b_label"], meta=arrays["meta"])
        os.replace(tmp, d / f"{k}.npz")
        stats["written"] += 1
    except OSError:
        Path(tmp).unlink(missing_ok=True)
