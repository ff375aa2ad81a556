"""One lab across machines: a partition of a lab's routers onto H hosts and its plan document.

    doc = split_lab(lab, {"h1": "192.0.2.1", "h2": "192.0.2.2"}, seed=1)   # pure data, no root
    problems = check_plan(doc, lab, "plan.json")                            # one line per problem

Each host runs the big-lab engine for its routers (api.up(..., split=(doc, host))); a link
between routers on two hosts (a cut link) is a kernel VXLAN device at each end (vxlan.py),
the engine's packet socket on it, the encapsulated frames going between the hosts' underlay
addresses (UDP port 4789).

The partition keeps together what the kernel must see whole: the routers of a LAN, and the
routers and hosts of a link with a host on it (a unit); lab hosts go with their link's
routers, router vantage points with their router. Units are split by recursive bisection:
each bisection grows one side from a pseudo-peripheral unit (seeded) by strongest connection
until it holds its share of routers, then improves the cut by Fiduccia-Mattheyses passes
(single moves by gain, within a balance tolerance of one unit or 1 % of the routers, the best
prefix of each pass kept). Only point-to-point links between routers are ever cut.
"""
from __future__ import annotations

import hashlib
import heapq
import ipaddress
import json
import random
import re

from testbed.errors import InputError, Problem
from testbed.runtimes.netns.plan import fingerprint

FORMAT = "utnt-split"
VERSION = 1
VXLAN_PORT = 4789              # the IANA port the kernel's VXLAN uses (dstport)
VNI_BASE = 4200                # cut link i (in the plan's order) gets VNI VNI_BASE + i
VNI_MAX = (1 << 24) - 1
HOST_RE = re.compile(r"^[a-z][a-z0-9_-]{0,11}$")
DEVICE = "vx{k}"               # the VXLAN device of lab link k (in the lab's core namespace)


def parse_hosts(text: str) -> dict[str, str]:
    """`h1=IP1,h2=IP2` -> {"h1": "IP1", ...}; a bad entry is one line naming it and the fix."""
    out: dict[str, str] = {}
    for part in [p.strip() for p in (text or "").split(",") if p.strip()]:
        host, sep, ip = part.partition("=")
        if not sep or not HOST_RE.match(host):
            raise InputError(f"--hosts: '{part}' is not NAME=ADDRESS (NAME: a lowercase letter, then up to 11 "
                             "letters, digits, '-' or '_'); write e.g. --hosts h1=192.0.2.1,h2=192.0.2.2")
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise InputError(f"--hosts: '{ip}' (host {host}) is not an IP address; give each host's underlay "
                             "address, e.g. h1=192.0.2.1") from None
        if host in out:
            raise InputError(f"--hosts: host '{host}' is named twice; give each host once")
        if ip in out.values():
            raise InputError(f"--hosts: address {ip} is given to two hosts; each host needs its own")
        out[host] = ip
    if len({ipaddress.ip_address(ip).version for ip in out.values()}) > 1:
        raise InputError("--hosts: the addresses mix IPv4 and IPv6; a VXLAN joins two addresses of one family")
    if len(out) < 2:
        raise InputError("--hosts: a split needs at least two hosts, e.g. --hosts h1=192.0.2.1,h2=192.0.2.2")
    return out


# ------------------------------------------------------------------ units and graph
def _units(lab):
    """(unit of each node, units as lists of node names, router count per unit): routers of a
    LAN or of a link with a host are one unit with that link's hosts."""
    parent = {n: n for n in lab.nodes}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for link in lab.links:
        members = [i.node for i in link.interfaces]
        whole = link.kind != "p2p" or any(not lab.nodes[m].is_router for m in members)
        if whole:
            for m in members[1:]:
                a, b = find(members[0]), find(m)
                if a != b:
                    parent[b] = a
    order: dict[str, int] = {}
    units: list[list[str]] = []
    of = {}
    for n in lab.nodes:
        root = find(n)
        if root not in order:
            order[root] = len(units)
            units.append([])
        of[n] = order[root]
        units[order[root]].append(n)
    weight = [sum(1 for n in u if lab.nodes[n].is_router) for u in units]
    return of, units, weight


def _graph(lab, of) -> list[dict[int, int]]:
    adj: list[dict[int, int]] = [dict() for _ in range(max(of.values()) + 1)] if of else []
    for link in lab.links:
        if link.kind != "p2p":
            continue
        a, b = (of[i.node] for i in link.interfaces)
        if a != b:
            adj[a][b] = adj[a].get(b, 0) + 1
            adj[b][a] = adj[b].get(a, 0) + 1
    return adj


def _bisect(items: list[int], adj, weight, share: float, rnd: random.Random) -> tuple[list[int], list[int]]:
    """Split items (unit indices) into (A, B) with about share of the routers in A."""
    inside = set(items)
    total = sum(weight[u] for u in items)
    want = share * total
    tol = max(max((weight[u] for u in items), default=1), 0.01 * total)
    # a pseudo-peripheral start: the farthest unit (BFS) from a seeded random one
    start = items[rnd.randrange(len(items))]
    for _ in range(2):
        seen, frontier, last = {start}, [start], start
        while frontier:
            nxt = []
            for u in frontier:
                for v in adj[u]:
                    if v in inside and v not in seen:
                        seen.add(v)
                        nxt.append(v)
            if nxt:
                last = nxt[-1]
            frontier = nxt
        start = last
    side = {u: 1 for u in items}
    wa = 0.0
    conn = {}
    heap: list = []
    rest = sorted(items, key=lambda u: rnd.random())     # disconnected pieces: seeded order
    ri = 0

    def take(u):
        nonlocal wa
        side[u] = 0
        wa += weight[u]
        for v, c in adj[u].items():
            if v in inside and side[v] == 1:
                conn[v] = conn.get(v, 0) + c
                heapq.heappush(heap, (-conn[v], rnd.random(), v))

    take(start)
    while wa + 1e-9 < want - tol / 2 or (wa < want and abs(wa - want) > 0.5):
        u = None
        while heap:
            c, _, v = heapq.heappop(heap)
            if side[v] == 1 and -c == conn.get(v):
                u = v
                break
        while u is None and ri < len(rest):
            if side[rest[ri]] == 1:
                u = rest[ri]
            ri += 1
        if u is None or wa + weight[u] - want > tol:
            break
        take(u)
    # Fiduccia-Mattheyses passes
    def gain(u):
        g = 0
        for v, c in adj[u].items():
            if v in inside:
                g += c if side[v] != side[u] else -c
        return g

    for _ in range(8):
        locked = set()
        heaps = ([], [])
        gains = {}
        for u in items:
            if any(v in inside and side[v] != side[u] for v in adj[u]):
                gains[u] = gain(u)
                heapq.heappush(heaps[side[u]], (-gains[u], rnd.random(), u))
        moves, run, best, best_at = [], 0, 0, 0
        while True:
            cand = []
            for s in (0, 1):
                h = heaps[s]
                while h and (h[0][2] in locked or side[h[0][2]] != s or -h[0][0] != gains.get(h[0][2])):
                    heapq.heappop(h)
                if h:
                    u = h[0][2]
                    nwa = wa - weight[u] if s == 0 else wa + weight[u]
                    if abs(nwa - want) <= tol:
                        cand.append((-h[0][0], s, u))
            if not cand:
                break
            g, s, u = max(cand)
            heapq.heappop(heaps[s])
            locked.add(u)
            side[u] = 1 - s
            wa += -weight[u] if s == 0 else weight[u]
            run += g
            moves.append(u)
            if run > best:
                best, best_at = run, len(moves)
            for v in adj[u]:
                if v in inside and v not in locked:
                    gains[v] = gain(v)
                    heapq.heappush(heaps[side[v]], (-gains[v], rnd.random(), v))
            if len(moves) - best_at > 200:     # far past the best prefix: stop the pass
                break
        for u in reversed(moves[best_at:]):     # keep the best prefix only
            side[u] = 1 - side[u]
            wa += weight[u] if side[u] == 0 else -weight[u]
        if best <= 0:
            break
    return [u for u in items if side[u] == 0], [u for u in items if side[u] == 1]


def partition_units(lab, hosts: list[str], seed: int) -> dict[str, str]:
    """{node name: host} for every node of the lab."""
    of, units, weight = _units(lab)
    adj = _graph(lab, of)
    rnd = random.Random(f"split:{seed}:{lab.name}:{len(units)}")
    place: dict[int, str] = {}

    def rec(items, hs):
        if len(hs) == 1 or not items:
            for u in items:
                place[u] = hs[0]
            return
        k = len(hs) // 2
        a, b = _bisect(items, adj, weight, k / len(hs), rnd)
        rec(a, hs[:k])
        rec(b, hs[k:])

    rec(list(range(len(units))), list(hosts))
    return {n: place[of[n]] for n in lab.nodes}


# ------------------------------------------------------------------ the plan document
def cut_links(lab, where: dict[str, str]) -> list[int]:
    return [k for k, link in enumerate(lab.links) if link.kind == "p2p"
            and len({where[i.node] for i in link.interfaces}) > 1]


def split_lab(lab, hosts: dict[str, str], seed: int = 1, vni_base: int = VNI_BASE, source: str | None = None,
              params: dict | None = None) -> dict:
    if not 1 <= vni_base <= VNI_MAX:
        raise InputError(f"--vni-base {vni_base}: a VXLAN id is 1..{VNI_MAX}")
    if len(hosts) > len(lab.routers):
        raise InputError(f"--hosts: {len(hosts)} hosts for {len(lab.routers)} routers of lab '{lab.name}'; give at "
                         "most one host per router")
    where = partition_units(lab, list(hosts), seed)
    routers = [r.name for r in lab.routers]
    cut = cut_links(lab, where)
    if vni_base + len(cut) - 1 > VNI_MAX:
        raise InputError(f"--vni-base {vni_base}: {len(cut)} cut links need ids up to {vni_base + len(cut) - 1}, "
                         f"past {VNI_MAX}; give a smaller --vni-base")
    cuts = []
    per_host_cut = {h: 0 for h in hosts}
    for i, k in enumerate(cut):
        link = lab.links[k]
        ends = []
        for itf in link.interfaces:
            node = lab.nodes[itf.node]
            ends.append({"host": where[itf.node], "router": itf.node,
                         "port": next(j for j, x in enumerate(node.interfaces) if x is itf),
                         "device": DEVICE.format(k=k)})
            per_host_cut[where[itf.node]] += 1
        cuts.append({"link": link.name, "index": k, "vni": vni_base + i, "ends": ends})
    vps = {p.source for p in lab.probes if lab.nodes[p.source].is_router}
    host_docs = []
    for h, ip in hosts.items():
        rs = [r for r in routers if where[r] == h]
        host_docs.append({"name": h, "underlay": ip, "routers": rs,
                          "lab_hosts": [n.name for n in lab.hosts if where[n.name] == h],
                          "router_vantage_points": sorted(r for r in vps if where[r] == h),
                          "cut_links": per_host_cut[h]})
    return {"format": FORMAT, "version": VERSION, "lab": lab.name,
            "source": source or getattr(lab, "source", None), "params": params if params is not None else
            dict(getattr(lab, "params", None) or {}), "fingerprint": fingerprint(lab, routers), "seed": seed,
            "vxlan": {"dstport": VXLAN_PORT, "vni_base": vni_base},
            "summary": {"routers": len(routers), "hosts": len(hosts), "links": len(lab.links),
                        "cut_links": len(cut)},
            "hosts": host_docs, "cut": cuts}


def plan_digest(doc: dict) -> str:
    return hashlib.sha1(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


PLAN_MAX = 256 << 20           # bytes: a 10,000-router plan is about 1 MB


def load_plan(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            raw = f.read(PLAN_MAX + 1)
    except OSError as e:
        raise InputError(f"{path}: cannot read the plan: {e.strerror}; give the file `testbed split` wrote") from None
    if len(raw) > PLAN_MAX:
        raise InputError(f"{path}: over {PLAN_MAX >> 20} MB, not a plan `testbed split` writes; split the lab again")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to be a plan; give the file `testbed split -o` wrote") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; give the file `testbed split -o` wrote") from None
    except ValueError as e:
        raise InputError(f"{path}:{getattr(e, 'lineno', '?')}: not JSON ({getattr(e, 'msg', e)}); give the file "
                         "`testbed split -o` wrote") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: a plan is a JSON object (from `testbed split -o`)")
    return doc


def check_plan(doc, lab, path: str = "plan") -> list[Problem]:
    """Every problem of a plan for this lab, one line each (file, field, what is wrong, fix);
    `raise LabError(problems)` reports them one per line, exit 2."""
    out: list[Problem] = []

    def bad(field, msg):
        out.append(Problem(file=path, field=field, message=msg))

    if not isinstance(doc, dict):
        return [Problem(file=path, field="", message="a plan is a JSON object; write it with `testbed split -o`")]
    if doc.get("format") != FORMAT or doc.get("version") != VERSION:
        bad("format", f"not a {FORMAT} version {VERSION} plan; write it with `testbed split -o`")
        return out
    if doc.get("lab") != lab.name:
        bad("lab", f"the plan is for lab '{doc.get('lab')}', not '{lab.name}'; split this lab again")
    routers = [r.name for r in lab.routers]
    if doc.get("fingerprint") != fingerprint(lab, routers):
        bad("fingerprint", "the lab's routers, addresses or MACs differ from the split's (another version of the "
                           "lab file or other --set values); run `testbed split` again and copy the plan to every host")
    vx = doc.get("vxlan")
    port = vx.get("dstport") if isinstance(vx, dict) else None
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        bad("vxlan.dstport", f"{port!r} is not a UDP port (1..65535); the default is {VXLAN_PORT}")
    hosts = doc.get("hosts")
    if not isinstance(hosts, list) or len(hosts) < 2:
        bad("hosts", "a list of at least two hosts is needed; split again with --hosts h1=IP1,h2=IP2")
        return out
    where: dict[str, str] = {}
    names, ips = set(), set()
    for i, h in enumerate(hosts):
        f = f"hosts[{i}]"
        if not isinstance(h, dict):
            bad(f, "each host is an object with name, underlay and routers")
            continue
        n = h.get("name")
        if not isinstance(n, str) or not HOST_RE.match(n):
            bad(f"{f}.name", f"{n!r} is not a host name (a lowercase letter, then up to 11 letters, digits, - or _)")
        elif n in names:
            bad(f"{f}.name", f"host '{n}' appears twice; each host once")
        else:
            names.add(n)
        if not isinstance(n, str):
            n = f"hosts[{i}]"              # reported above; a key for the checks below
        ip = h.get("underlay")
        try:
            ipaddress.ip_address(ip)
            if ip in ips:
                bad(f"{f}.underlay", f"{ip} is given to two hosts; each host needs its own underlay address")
            ips.add(ip)
        except (ValueError, TypeError):
            bad(f"{f}.underlay", f"{ip!r} is not an IP address; give the host's underlay address")
        rs = h.get("routers")
        if not isinstance(rs, list):
            bad(f"{f}.routers", "a list of router names is needed")
            continue
        for r in rs:
            if not isinstance(r, str) or r not in lab.nodes or not lab.nodes[r].is_router:
                bad(f"{f}.routers", f"{r!r} is not a router of lab '{lab.name}'; split the lab again")
            elif r in where:
                bad(f"{f}.routers", f"router {r} is on hosts {where[r]} and {n}; each router on one host")
            else:
                where[r] = n
    fams = {ipaddress.ip_address(h["underlay"]).version for h in hosts
            if isinstance(h, dict) and isinstance(h.get("underlay"), str) and _is_ip(h["underlay"])}
    if len(fams) > 1:
        bad("hosts", "the underlay addresses mix IPv4 and IPv6; a VXLAN joins two addresses of one family: give "
                     "every host an address of the same family")
    missing = [r for r in routers if r not in where]
    if missing:
        bad("hosts", f"{len(missing)} routers on no host ({', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''})"
                     "; split the lab again")
    if any(p.field == "hosts" or p.field.endswith(".routers") for p in out):
        return out                     # no assignment of routers to check the links against
    for link in lab.links:
        rs = {where[i.node] for i in link.interfaces if lab.nodes[i.node].is_router}
        if len(rs) > 1 and (link.kind != "p2p" or any(not lab.nodes[i.node].is_router for i in link.interfaces)):
            bad("hosts", f"link '{link.name}' (a LAN or a link with a host) has routers on hosts "
                         f"{', '.join(sorted(rs))}; only point-to-point links between routers are cut: split again")
    want = {k: lab.links[k] for k in cut_links(lab, {**where, **{n.name: None for n in lab.hosts}})
            if all(lab.nodes[i.node].is_router for i in lab.links[k].interfaces)}
    cuts = doc.get("cut")
    if not isinstance(cuts, list):
        bad("cut", "a list of cut links is needed; split the lab again")
        return out
    seen, vnis = set(), set()
    for i, c in enumerate(cuts):
        f = f"cut[{i}]"
        k = c.get("index") if isinstance(c, dict) else None
        if not isinstance(k, int) or isinstance(k, bool) or k not in want:
            bad(f, f"link index {k!r} is not a link between routers on two hosts; split the lab again")
            continue
        if c.get("link") != want[k].name:
            bad(f"{f}.link", f"{c.get('link')!r} is not link {k}'s name ('{want[k].name}'); split the lab again")
        vni = c.get("vni")
        if not isinstance(vni, int) or isinstance(vni, bool) or not 1 <= vni <= VNI_MAX:
            bad(f"{f}.vni", f"{vni!r} is not a VXLAN id (1..{VNI_MAX})")
        elif vni in vnis:
            bad(f"{f}.vni", f"VXLAN id {vni} is used twice; each cut link its own")
        else:
            vnis.add(vni)
        if k in seen:
            bad(f, f"link {want[k].name} is listed twice")
        seen.add(k)
        ends = c.get("ends")
        itfs = want[k].interfaces
        if not isinstance(ends, list) or len(ends) != 2:
            bad(f"{f}.ends", "two ends (host, router, port, device) are needed")
            continue
        for j, (e, itf) in enumerate(zip(ends, itfs)):
            node = lab.nodes[itf.node]
            port = next(x for x, y in enumerate(node.interfaces) if y is itf)
            exp = {"host": where[itf.node], "router": itf.node, "port": port, "device": DEVICE.format(k=k)}
            if not isinstance(e, dict) or any(e.get(key) != v for key, v in exp.items()):
                bad(f"{f}.ends[{j}]", f"should be {json.dumps(exp)}; split the lab again")
    for k in sorted(set(want) - seen):
        bad("cut", f"link '{want[k].name}' joins routers on two hosts but has no VXLAN; split the lab again")
    return out


def _is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


def host_of(doc: dict, host: str, path: str = "plan") -> dict:
    for h in doc["hosts"]:
        if h["name"] == host:
            return h
    raise InputError(f"{path}: hosts: no host '{host}' in the plan (hosts: "
                     f"{', '.join(h['name'] for h in doc['hosts'])}); give one of them with --host")


def local_nodes(lab, doc: dict, host: str) -> set[str]:
    """The routers of this host and the lab hosts that go with them (a lab host with no
    router on its link goes to the plan's first host)."""
    rs = set(host_of(doc, host)["routers"])
    out = set(rs)
    first = doc["hosts"][0]["name"]
    for n in lab.hosts:
        peers = [p.node for itf in n.interfaces for p in itf.peers() if lab.nodes[p.node].is_router]
        if (peers and peers[0] in rs) or (not peers and host == first):
            out.add(n.name)
    return out


def cut_ports(doc: dict, host: str) -> dict[str, dict[int, str]]:
    """{router: {port: VXLAN device}} for this host's ends of cut links."""
    out: dict[str, dict[int, str]] = {}
    for c in doc["cut"]:
        for e in c["ends"]:
            if e["host"] == host:
                out.setdefault(e["router"], {})[e["port"]] = e["device"]
    return out


def shed(lab, cp, local: set) -> dict:
    """Let one host's engine hold only its part of a big lab (after its control plane is built
    with build(lab, only=local), which makes tables for its nodes only). What every route still
    needs stays whole: the routing graph, the prefixes and their owners, each router's name,
    loopback and label knobs (cp.scale). What goes: the links with no end on this host, the
    interfaces of every router not here (a neighbour's own prefixes, which decide the labels
    the routers here push toward it, are kept in cp.scale first), and the per-neighbour
    interface names and addresses of routers not here (only the graph's costs stay for
    them). Freed memory is handed back to the system (malloc_trim). A lab on whole tables
    (up to controlplane.scale.SCALE_ROUTERS routers) is left as it is. What was shed, counted."""
    import gc
    st = getattr(cp, "scale", None)
    if st is None:
        return {}
    here = {r for r in local if r in lab.nodes and lab.nodes[r].is_router}
    keep = set(local)
    for r in here:                          # a neighbour's own prefixes, kept before its interfaces go
        for itf in lab.nodes[r].interfaces:
            for p in itf.peers():
                if p.node not in local and lab.nodes[p.node].is_router:
                    st.own_of(p.node)
    before = len(lab.links)
    lab.links = [link for link in lab.links if any(i.node in local for i in link.interfaces)]
    dropped = 0
    for n in lab.nodes.values():
        if n.name not in keep and n.interfaces:
            dropped += len(n.interfaces)
            n.interfaces = []
    st.nbrs = {r: st.nbrs[r] for r in here if r in st.nbrs}        # build_scale's ldp_neighbors: done
    st.nbr_ix = {r: (lst if r in here else [(None, nb, None, c, j) for _, nb, _, c, j in lst])
                 for r, lst in st.nbr_ix.items()}
    lab.__dict__.pop("_addr_map", None)
    gc.collect()
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return {"links": before - len(lab.links), "interfaces": dropped, "kept_nodes": len(keep)}
