"""Hostile and careless inputs to every reader that is not the lab loader (issue 21): result
files of every format (`score`), importers' files (`import`), campaign files (`probe
--campaign`), state records of the run folder (`status`, `down`, `probe --name`, `score
--name`), names (a lab file's stem, a file name with a newline) and command-line arguments.

Each case is refused in one line (exit 2) without a traceback, without echoing the file
(SECRET never appears), or, for "valid" cases, accepted (exit 0). Runs in the same runner
as cases.py (runner.run_case).
"""
from __future__ import annotations

import json
import os
import shutil

from cases import BOMB, SECRET, Case

LIB = "invisible-php"
RUN_ROOT = "/run/utnt-lab"


# ------------------------------------------------------------------------------ helpers
def _trace(**over) -> dict:
    t = {"src": "12.0.0.2", "dst": "12.0.1.2", "hops": [{"address": "12.0.0.1", "probe_ttl": 1},
                                                      {"address": None, "probe_ttl": 2}],
         "tunnels": []}
    t.update(over)
    return t


def _doc(**over) -> str:
    return json.dumps({"traces": [_trace(**over)]})


def _hop_doc(**hop) -> str:
    h = {"address": "12.0.0.1", "probe_ttl": 1}
    h.update(hop)
    return json.dumps({"traces": [_trace(hops=[h])]})


def _scamper(**over) -> str:
    t = {"type": "trace", "method": "icmp-echo-paris", "src": "12.0.0.2", "dst": "12.0.1.2", "firsthop": 1,
         "hops": [{"addr": "12.0.0.1", "probe_ttl": 1, "rtt": 0.3, "reply_ttl": 255, "icmp_type": 11,
                   "icmp_code": 0}]}
    t.update(over)
    return json.dumps(t) + "\n"


def _scamper_hop(**hop) -> str:
    h = {"addr": "12.0.0.1", "probe_ttl": 1, "rtt": 0.3, "reply_ttl": 255, "icmp_type": 11, "icmp_code": 0}
    h.update(hop)
    return _scamper(hops=[h])


TNT_HEAD = "trace [icmp-paris] from 12.0.0.2 to 12.0.1.2\n"
TR_HEAD = "traceroute to 12.0.1.2 (12.0.1.2), 30 hops max, 60 byte packets\n"


def _fifo(name):
    def make(labdir):
        os.mkfifo(labdir / name)
    return make


def _sparse(name, size):
    def make(labdir):
        with open(labdir / name, "wb") as f:
            f.truncate(size)
    return make


def _run_folder(inst: str, text: str):
    """A state record in a run folder of its own (a lab that is not up): setup and teardown."""
    def make(labdir):
        # under the run folder's lock, as `testbed up` makes its folder: a lab of another test
        # going down at the same moment removes the root when it finds it empty (state.py)
        from testbed.runtimes.netns import state
        with state.locked():
            d = os.path.join(RUN_ROOT, inst)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "state.json"), "w") as f:
                f.write(text.replace("SECRET_PATH", str(labdir.parent / "secret.txt")))

    def undo(labdir):
        shutil.rmtree(os.path.join(RUN_ROOT, inst), ignore_errors=True)
    return make, undo


def cases() -> list[Case]:
    C: list[Case] = []

    def add(*a, **kw):
        C.append(Case(*a, **kw))

    def score(name, what, text, fmt=None, **kw):
        argv = ["score", LIB, "r.out"] + (["--format", fmt] if fmt else [])
        add(name, what, {"r.out": text}, argv=argv, **kw)

    # ========================================================================== result files
    # -- not a regular file, too big, not a result file (never echoed)
    add("result-fifo", "score on a FIFO (hung forever)", {}, argv=["score", LIB, "f.out"], setup=_fifo("f.out"),
        needle="FIFO")
    add("result-dev-zero", "score on /dev/zero (1.85 GB in 3 s)", {}, argv=["score", LIB, "/dev/zero"], needle="device")
    add("result-directory", "score on a folder", {"d/x": "1"}, argv=["score", LIB, "d"], needle="directory")
    add("result-sparse-300m", "a 300 MB result file (sparse)", {}, argv=["score", LIB, "big.json"],
        setup=_sparse("big.json", 300 << 20), needle="limit")
    add("result-missing", "a result file that does not exist", {}, argv=["score", LIB, "nope.json"])
    add("result-secret", "score on a file that is not a result file (never echoed)", {},
        argv=["score", LIB, "../secret.txt"])
    for fmt in ("utnt-json", "tnt-text", "scamper-json", "traceroute"):
        add(f"result-secret-as-{fmt}", f"a secret file read as {fmt} (never echoed)", {},
            argv=["score", LIB, "../secret.txt", "--format", fmt])
    add("result-etc-passwd", "score on /etc/passwd (never echoed)", {}, argv=["score", LIB, "/etc/passwd"])
    add("result-etc-passwd-tnt", "/etc/passwd as a TNT dump (never echoed)", {},
        argv=["score", LIB, "/etc/passwd", "--format", "tnt-text"])
    add("result-secret-line2", "a TNT dump whose second line is the secret (never echoed)",
        {"r.out": TNT_HEAD + "  1  " + SECRET + "\n"}, argv=["score", LIB, "r.out"])
    add("result-secret-traceroute-line", "a traceroute line holding the secret (never echoed)",
        {"r.out": TR_HEAD + " 1  12.0.0.1  0.1 ms  " + SECRET + "\n"}, argv=["score", LIB, "r.out"])
    add("result-secret-json-field", "a uTNT JSON whose address is the secret (never echoed)",
        {"r.out": _hop_doc(address=SECRET)}, argv=["score", LIB, "r.out"])
    add("result-secret-scamper-field", "a scamper JSON whose addr is the secret (never echoed)",
        {"r.out": _scamper_hop(addr=SECRET)}, argv=["score", LIB, "r.out"])
    add("result-secret-mpls-tag", "a TNT tag part that is the secret (never echoed)",
        {"r.out": TNT_HEAD + f"  1  12.0.0.1  0.1 ms  [MPLS,{SECRET},LSR]\n"}, argv=["score", LIB, "r.out"])
    # -- bytes and text
    score("result-not-utf8", "Latin-1 bytes in a result file", b'{"traces": [{"dst": "caf\xe9"}]}')
    score("result-nul", "a NUL byte in a result file", _doc().replace('"tunnels"', '"tun\x00nels"'))
    score("result-empty", "an empty result file", "")
    score("result-blank", "a result file of blank lines", "\n\n  \n")
    # -- JSON structure
    score("result-json-deep-100k", "utnt JSON nested 100,000 deep", "[" * 100000 + "]" * 100000)
    score("result-json-deep-traces", "a trace nested 10,000 deep inside traces",
          '{"traces": ' + "[" * 10000 + "]" * 10000 + "}")
    score("result-scamper-deep-lines", "scamper JSON lines nested 50,000 deep", _scamper() + "[" * 50000 + "]" * 50000,
          fmt="scamper-json")
    score("result-json-nan", "NaN in uTNT JSON", _hop_doc(rtt_ms=0.5).replace("0.5", "NaN"))
    score("result-json-infinity", "Infinity in uTNT JSON", _hop_doc(rtt_ms=0.5).replace("0.5", "Infinity"))
    score("result-json-minus-infinity", "-Infinity in uTNT JSON", _hop_doc(rtt_ms=0.5).replace("0.5", "-Infinity"))
    score("result-json-huge-int", "a 5,000-digit probe_ttl", _hop_doc(probe_ttl=1).replace('"probe_ttl": 1',
                                                                                          '"probe_ttl": ' + "9" * 5000))
    score("result-json-huge-float", "a 1e999 rtt", _hop_doc(rtt_ms=0.5).replace("0.5", "1e999"))
    score("result-json-surrogate", "a lone surrogate in dst", _doc().replace("12.0.1.2", "\\ud800"))
    score("result-json-surrogate-key", "a lone surrogate in a key", _doc().replace('"src"', '"\\udfff"'))
    score("result-json-truncated", "truncated uTNT JSON", _doc()[:40])
    score("result-json-trailing", "two JSON documents in one file", _doc() + _doc(), fmt="utnt-json")
    # -- wrong types
    for name, text in {
        "traces-number": '{"traces": 5}',
        "traces-string": '{"traces": "x"}',
        "trace-list": '{"traces": [[1, 2]]}',
        "dst-number": _doc(dst=5),
        "dst-null": _doc(dst=None),
        "src-number": _doc(src=7),
        "hops-string": _doc(hops="x"),
        "hops-object": _doc(hops={"a": 1}),
        "hop-list": _doc(hops=[[1]]),
        "hop-no-address": _doc(hops=[{"probe_ttl": 1}]),
        "address-number": _hop_doc(address=5),
        "address-list": _hop_doc(address=["12.0.0.1"]),
        "probe-ttl-string": _hop_doc(probe_ttl="1"),
        "probe-ttl-bool": _hop_doc(probe_ttl=True),
        "probe-ttl-negative": _hop_doc(probe_ttl=-1),
        "probe-ttl-float": _hop_doc(probe_ttl=1.5),
        "rtt-string": _hop_doc(rtt_ms="fast"),
        "labels-number": _hop_doc(labels=5),
        "labels-strings": _hop_doc(labels=["16"]),
        "mpls-number": _hop_doc(mpls=5),
        "tunnels-object": _doc(tunnels={"a": 1}),
        "tunnel-number": _doc(tunnels=[5]),
        "tunnel-class-list": _doc(tunnels=[{"class": ["EXP"]}]),
        "tunnel-class-unknown": _doc(tunnels=[{"class": "XYZ"}]),
        "tunnel-lsrs-string": _doc(tunnels=[{"class": "EXP", "lsrs": "12.0.0.1"}]),
        "tunnel-lsrs-numbers": _doc(tunnels=[{"class": "EXP", "lsrs": [1, 2]}]),
        "tunnel-ingress-number": _doc(tunnels=[{"class": "EXP", "ingress": 5}]),
        "tunnel-trigger-list": _doc(tunnels=[{"class": "EXP", "trigger": [1]}]),
        "method-number": _doc(method=5),
        "detector-object": _doc(detector={"a": 1}),
        "top-number": "5",
        "top-string": '"traces"',
        "top-null": "null",
    }.items():
        score(f"result-type-{name}", f"uTNT JSON with {name.replace('-', ' ')}", text, fmt="utnt-json")
    # -- addresses that are not IPv4
    for name, a in {"ipv6": "::1", "octet-999": "999.1.1.1", "three-octets": "1.2.3", "prefix": "12.0.0.1/24",
                    "hostname": "localhost", "leading-zeros": "012.000.000.001", "spaces": " 12.0.0.1",
                    "fullwidth": "\uff11\uff12.0.0.1", "escape": "\x1b[2J", "long": "1" * 5000}.items():
        score(f"result-addr-{name}", f"hop address {name}", _hop_doc(address=a))
        score(f"result-dst-{name}", f"trace dst {name}", _doc(dst=a))
    score("result-tunnel-lsr-ipv6", "a tunnel LSR that is IPv6", _doc(tunnels=[{"class": "EXP", "lsrs": ["::1"]}]))
    # -- scamper JSON
    for name, text in {
        "nan-rtt": _scamper_hop(rtt=0.3).replace("0.3", "NaN"),
        "infinity-ttl": _scamper_hop(probe_ttl=1).replace('"probe_ttl": 1', '"probe_ttl": Infinity'),
        "huge-ttl": _scamper_hop(probe_ttl=1).replace('"probe_ttl": 1', '"probe_ttl": ' + "9" * 4400),
        "1e308-ttl": _scamper_hop(probe_ttl=1e308),
        "ttl-string": _scamper_hop(probe_ttl="1"),
        "ttl-300": _scamper_hop(probe_ttl=300),
        "addr-ipv6": _scamper_hop(addr="::1"),
        "addr-number": _scamper_hop(addr=12),
        "dst-ipv6": _scamper(dst="2001:db8::1"),
        "dst-list": _scamper(dst=["12.0.1.2"]),
        "hops-object": _scamper(hops={"a": 1}),
        "hop-string": _scamper(hops=["x"]),
        "method-list": _scamper(method=["icmp"]),
        "icmpext-number": _scamper_hop(icmpext=5),
        "mpls-labels-object": _scamper_hop(icmpext=[{"mpls_labels": {"a": 1}}]),
        "mpls-labels-number": _scamper_hop(icmpext=[{"mpls_labels": 7}]),
        "mpls-label-string": _scamper_hop(icmpext=[{"mpls_labels": [{"mpls_label": "16"}]}]),
        "mpls-label-huge": _scamper_hop(icmpext=[{"mpls_labels": [{"mpls_label": 1e300}]}]),
        "reply-ttl-bool": _scamper_hop(reply_ttl=True),
        "tnt-mpls-string": _scamper_hop(tnt={"mpls": "EXP"}),
        "tnt-er-ttl-string": _scamper_hop(tnt={"er_ttl": "x"}),
        "ping-responses-junk-ok": json.dumps({"type": "ping", "dst": "12.0.1.2", "responses": [5, "x"]}) + "\n"
        + _scamper_hop(),
        "ping-reply-ttl-string": json.dumps({"type": "ping", "dst": "12.0.1.2", "responses": [
            {"from": "12.0.1.2", "icmp_type": 0, "reply_ttl": "x"}]}) + "\n" + _scamper_hop(),
        "array-of-numbers": "[1, 2, 3]",
        "line-number": _scamper() + "5\n",
        "no-trace": json.dumps({"type": "cycle-start"}) + "\n",
        "garbage-line": _scamper() + "{not json\n",
    }.items():
        score(f"result-scamper-{name}", f"scamper JSON: {name.replace('-', ' ')}", text, fmt="scamper-json",
              expect="valid" if name.endswith("-ok") else "refused")
    # -- TNT text dump
    for name, text in {
        "huge-index": TNT_HEAD + "  " + "9" * 5000 + "  12.0.0.1  0.1 ms\n",
        "huge-qttl": TNT_HEAD + "  1  12.0.0.1  0.1 ms  qttl=" + "9" * 5000 + "\n",
        "huge-step": TNT_HEAD + "  1  12.0.0.1  0.1 ms  [MPLS,INV,LSR,step=" + "9" * 5000 + "]\n",
        "huge-label": TNT_HEAD + "  1  12.0.0.1  0.1 ms  Labels " + "9" * 5000 + " mTTL=1\n",
        "addr-999": TNT_HEAD + "  1  999.0.0.1  0.1 ms\n",
        "header-ipv6": "trace [icmp-paris] from ::1 to ::2\n  1  12.0.0.1  0.1 ms\n",
        "header-hostname": "trace [icmp-paris] from a to b\n  1  12.0.0.1  0.1 ms\n",
        "escape-line": TNT_HEAD + "  1  12.0.0.1  0.1 ms  \x1b[2J\n",
        "hop-before-header": "  1  12.0.0.1  0.1 ms\n",
        "tag-no-role": TNT_HEAD + "  1  12.0.0.1  0.1 ms  [MPLS,EXP]\n",
    }.items():
        score(f"result-tnt-{name}", f"TNT dump: {name.replace('-', ' ')}", text, fmt="tnt-text")
    # -- traceroute text
    for name, text in {
        "huge-ttl": TR_HEAD + " " + "9" * 5000 + "  12.0.0.1  0.1 ms\n",
        "huge-label": TR_HEAD + " 1  12.0.0.1 <MPLS:L=" + "9" * 5000 + ",E=0,S=1,T=1>  0.1 ms\n",
        "addr-999": TR_HEAD + " 1  999.0.0.1  0.1 ms\n",
        "dst-hostname": "traceroute to example, 30 hops max\n 1  12.0.0.1  0.1 ms\n",
        "escape": TR_HEAD + " 1  12.0.0.1  0.1 ms  \x1b]0;x\x07\n",
        "rtt-before-address": TR_HEAD + " 1  0.1 ms\n",
    }.items():
        score(f"result-traceroute-{name}", f"traceroute text: {name.replace('-', ' ')}", text, fmt="traceroute")
    # -- valid files that crashed (scored now), and strings that must be shown escaped
    utnt_scamper = ('{"type": "trace", "version": "0.1", "method": "icmp-echo-paris", "src": "12.0.0.254", '
                    '"dst": "12.0.1.2", "stop_reason": "COMPLETED", "firsthop": 1, "hops": [{"addr": "12.0.0.1", '
                    '"probe_ttl": 1, "rtt": 0.3, "reply_ttl": 255, "icmp_type": 11, "icmp_code": 0, "icmp_q_ttl": 1, '
                    '"tnt": {"er_ttl": 255}}], "tnt": {"detector": "utnt"}}\n')
    score("valid-utnt-scamper-json", "uTNT's --scamper-json output (KeyError before)", utnt_scamper, expect="valid")
    score("valid-result-no-detector", "the documented result format without detector or index (KeyError before)",
          _doc(), expect="valid")
    score("valid-result-list", "a JSON list of traces", json.dumps([_trace()]), expect="valid")
    score("valid-result-one-trace", "one trace object", json.dumps(_trace()), expect="valid")
    score("escape-in-trigger", "a terminal escape in a tunnel's trigger (printed escaped)",
          _doc(tunnels=[{"class": "EXP", "ingress": "12.0.0.1", "egress": "12.0.1.2", "lsrs": [],
                         "trigger": "\u001b[2J\u001b]0;pwned\u0007"}]), expect="valid", forbid="\x1b[2J")
    score("markup-in-trigger", "rich markup in a tunnel's technique (printed as text)",
          _doc(tunnels=[{"class": "EXP", "ingress": "12.0.0.1", "egress": "12.0.1.2", "lsrs": [],
                         "technique": "[bold red]x[/]"}]), expect="valid", needle="[bold red]")
    score("escape-in-method", "a terminal escape in a trace's method (printed escaped)",
          _doc(method="\u001b[31mred"), expect="valid", forbid="\x1b[31m")
    score("escape-in-vantage-point", "a terminal escape in vantage_point (printed escaped)",
          _doc(vantage_point="\u001b[2Jvp"), expect="valid", forbid="\x1b[2J")
    esc = json.dumps({"traces": [_trace(detector="[bold red]X\u001b[2Jy")]})
    add("escape-in-detector-comparison", "a detector name with markup and an escape, compared with another file",
        {"a.json": esc, "b.json": _doc()}, argv=["score", LIB, "a.json", "b.json"], expect="valid",
        forbid="\x1b[2J", needle="[bold red]")
    add("result-stdin-flood", "score from stdin fed a FIFO-like endless file is bounded", {},
        argv=["score", LIB, "/dev/urandom"], needle="device")

    for name, files, arg, setup in (("fifo", {}, "f.json", _fifo("f.json")),
                                    ("deep", {"r.json": "[" * 100000 + "]" * 100000}, "r.json", None),
                                    ("secret", {}, "../secret.txt", None),
                                    ("traces-number", {"r.json": '{"traces": 5}'}, "r.json", None)):
        add(f"graph-result-{name}", f"graph --result: {name}", files, argv=["graph", LIB, "-o", "g.png", "--result", arg],
            setup=setup)

    # ========================================================================== importers
    def imp(name, what, fname, content, **kw):
        add(name, what, {fname: content}, argv=["import", fname, "-o", "out.yaml"], **kw)
    gml = ('<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected">'
           '<node id="a"/><node id="b"/><edge source="a" target="b"/></graph></graphml>')
    dtd = '<!DOCTYPE g [<!ENTITY e "xx">]>\n'
    ext = '<!DOCTYPE g [<!ENTITY e SYSTEM "file://SECRET_PATH">]>\n'
    imp("graphml-doctype", "GraphML with a DTD", "t.graphml", '<?xml version="1.0"?>\n' + dtd + gml, needle="DOCTYPE")
    imp("graphml-doctype-utf16", "a UTF-16 GraphML with a DTD (slipped past a byte scan)", "t.graphml",
        ('<?xml version="1.0" encoding="UTF-16"?>\n' + dtd + gml).encode("utf-16"), needle="DOCTYPE")
    imp("graphml-doctype-utf16-nobom", "UTF-16 without a byte-order mark, with a DTD", "t.graphml",
        ('<?xml version="1.0" encoding="UTF-16"?>\n' + dtd + gml).encode("utf-16-le"), needle="DOCTYPE")
    imp("graphml-doctype-utf16be", "UTF-16BE with a DTD", "t.graphml",
        ('<?xml version="1.0" encoding="UTF-16"?>\n' + dtd + gml).encode("utf-16-be"), needle="DOCTYPE")
    imp("graphml-doctype-utf32", "UTF-32 with a DTD", "t.graphml",
        ('<?xml version="1.0" encoding="UTF-32"?>\n' + dtd + gml).encode("utf-32"), needle="DOCTYPE")
    imp("graphml-doctype-after-2mib", "a DTD after 2 MiB of comment (past the old 1 MiB scan)", "t.graphml",
        '<?xml version="1.0"?>\n<!--' + "x" * (2 << 20) + '-->\n' + dtd + gml, needle="DOCTYPE")
    imp("graphml-external-entity", "an external entity naming the secret file", "t.graphml",
        '<?xml version="1.0"?>\n' + ext + gml.replace('<node id="a"/>', '<node id="&e;"/>'))
    imp("graphml-billion-laughs", "billion laughs", "t.graphml", '<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 10 + '">' for i in range(9)) + ']>\n'
        + gml.replace('<node id="a"/>', '<node id="&j;"/>'))
    imp("graphml-lowercase-doctype", "a lowercase <!doctype>", "t.graphml", '<!doctype g>\n' + gml)
    imp("graphml-spaced-doctype", "<! DOCTYPE with a space", "t.graphml", '<! DOCTYPE g>\n' + gml)
    imp("graphml-deep", "elements nested 100,000 deep", "t.graphml", "<a>" * 100000 + "</a>" * 100000)
    imp("graphml-not-xml", "a GraphML file that is not XML", "t.graphml", "hello " + SECRET)
    imp("graphml-latin1", "Latin-1 bytes in GraphML", "t.graphml", b'<?xml version="1.0"?><graphml>\xe9</graphml>')
    imp("graphml-nul", "a NUL byte in GraphML", "t.graphml", gml.replace("<graph ", "<graph\x00 "))
    imp("graphml-bad-key-type", "a GraphML key of a type it cannot hold", "t.graphml",
        gml.replace("<graph ", '<key id="d0" for="node" attr.name="x" attr.type="int"/><graph ').replace(
            '<node id="a"/>', '<node id="a"><data key="d0">notanint</data></node>'))
    add("graphml-fifo", "a FIFO named .graphml", {}, argv=["import", "f.graphml", "-o", "out.yaml"],
        setup=_fifo("f.graphml"), needle="FIFO")
    add("graphml-sparse-100m", "a 100 MB GraphML (sparse)", {}, argv=["import", "b.graphml", "-o", "out.yaml"],
        setup=_sparse("b.graphml", 100 << 20), needle="limit")
    nl = {"nodes": [{"id": "a"}, {"id": "b"}], "edges": [{"source": "a", "target": "b"}]}
    imp("nodelink-deep", "node-link JSON nested 100,000 deep", "t.json", "[" * 100000 + "]" * 100000)
    imp("nodelink-nan", "NaN in node-link JSON", "t.json", json.dumps(nl).replace('"b"}]', '"b", "cost": NaN}]'))
    imp("nodelink-huge-number", "a 5,000-digit cost", "t.json", json.dumps(nl).replace('"b"}]', '"b", "cost": '
                                                                                    + "9" * 5000 + "}]"))
    imp("nodelink-surrogate", "a lone surrogate in a node id", "t.json", json.dumps(nl).replace('"id": "a"',
                                                                                           '"id": "\\ud800"'))
    imp("nodelink-nodes-object", "nodes as an object", "t.json", '{"nodes": {"a": 1}, "edges": []}')
    imp("nodelink-id-list", "a node id that is a list", "t.json", '{"nodes": [{"id": [1]}], "edges": []}')
    imp("nodelink-edge-unknown", "an edge to a node that is not listed (value not echoed)", "t.json",
        json.dumps({"nodes": [{"id": "a"}], "edges": [{"source": "a", "target": SECRET}]}))
    imp("nodelink-latin1", "Latin-1 bytes in node-link JSON", "t.json", b'{"nodes": [{"id": "caf\xe9"}]}')
    imp("nodelink-top-list", "a list at the top", "t.json", "[1, 2]")
    add("nodelink-fifo", "a FIFO named .json", {}, argv=["import", "f.json", "-o", "out.yaml"], setup=_fifo("f.json"))
    add("nodelink-dir", "a folder named .json", {"d.json/x": "1"}, argv=["import", "d.json", "-o", "out.yaml"])
    clab = "name: t\ntopology:\n  nodes:\n    a: {kind: linux}\n    b: {kind: linux}\n  links:\n" \
           "    - endpoints: [\"a:eth1\", \"b:eth1\"]\n"
    imp("clab-alias-bomb", "a 1 KB YAML alias bomb in a containerlab file (over 120 s before)", "t.clab.yml",
        BOMB + clab, needle="aliases")
    imp("clab-python-tag", "!!python/object/apply in a containerlab file", "t.clab.yml",
        clab.replace("name: t", "name: !!python/object/apply:os.system ['touch CANARY_PATH']"))
    imp("clab-deep", "a containerlab file nested 10,000 deep", "t.clab.yml", "topology: " + "[" * 10000 + "]" * 10000)
    imp("clab-latin1", "a Latin-1 containerlab file (a traceback before)", "t.clab.yml",
        b"name: caf\xe9\n" + clab.split("\n", 1)[1].encode())
    imp("clab-not-mapping", "a list at the top", "t.clab.yml", "- 1\n")
    imp("clab-links-mapping", "links as a mapping", "t.clab.yml", "topology:\n  nodes: {a: {}}\n  links: {a: 1}\n")
    imp("clab-endpoint-secret", "an endpoint naming an unknown node (value not echoed)", "t.clab.yml",
        clab.replace('"b:eth1"', f'"{SECRET}:eth1"'))
    imp("clab-duplicate-key", "a node declared twice", "t.clab.yml", clab.replace("    b: {kind: linux}\n",
                                                                                 "    b: {kind: linux}\n    a: {}\n"))
    add("clab-fifo", "a FIFO named .clab.yml", {}, argv=["import", "f.clab.yml", "-o", "out.yaml"],
        setup=_fifo("f.clab.yml"))
    add("import-newline-output", "import -o a lab file named with a newline (never written)", {"t.json": json.dumps(nl)},
        argv=["import", "t.json", "-o", "a\nb.yaml"], needle="newline")
    add("import-newline-lab-name", "import --name with a newline", {"t.json": json.dumps(nl)},
        argv=["import", "t.json", "-o", "out.yaml", "--name", "a\nb"], needle="instance name")
    add("import-newline-name", "an import file whose name holds a newline", {"a\nb.json": json.dumps(nl)},
        argv=["import", "a\nb.json", "-o", "out.yaml"], needle="newline")

    # ========================================================================== campaign files
    def camp(name, what, text, **kw):
        add(name, what, {"c.yaml": text}, argv=["probe", LIB, "--runtime", "netns", "--campaign", "c.yaml"], **kw)
    camp("campaign-alias-bomb", "a 600-byte alias bomb in a campaign file (2.5 GB before)", BOMB, needle="aliases")
    camp("campaign-every-count-1e10", "start_times {every: 0.001, count: 1e10} (3 GB before)",
         "destinations: [dst]\nstart_times: {every: 0.001, count: 10000000000}\n")
    camp("campaign-count-float", "count: 1e10 written as a float", "destinations: [dst]\nstart_times: {every: 1, count: 1e10}\n")
    camp("campaign-count-negative", "count: -5 (accepted before)", "destinations: [dst]\nstart_times: {every: 1, count: -5}\n")
    camp("campaign-count-bool", "count: true", "destinations: [dst]\nstart_times: {every: 1, count: true}\n")
    camp("campaign-every-zero", "every: 0", "destinations: [dst]\nstart_times: {every: 0, count: 3}\n")
    camp("campaign-every-nan", "every: .nan", "destinations: [dst]\nstart_times: {every: .nan, count: 3}\n")
    camp("campaign-every-string", "every: soon", "destinations: [dst]\nstart_times: {every: soon, count: 3}\n")
    camp("campaign-start-inf", "start_times: [.inf] (a traceback before)", "destinations: [dst]\nstart_times: [.inf]\n")
    camp("campaign-start-bools", "start_times: [true, false] (accepted before)",
         "destinations: [dst]\nstart_times: [true, false]\n")
    camp("campaign-start-negative", "start_times: [-1]", "destinations: [dst]\nstart_times: [-1]\n")
    camp("campaign-start-huge", "start_times: [1e300]", "destinations: [dst]\nstart_times: [1.0e300]\n")
    camp("campaign-start-many", "20,000 start times", "destinations: [dst]\nstart_times: [" + ", ".join(["0"] * 20000)
         + "]\n")
    camp("campaign-start-empty", "start_times: []", "destinations: [dst]\nstart_times: []\n")
    camp("campaign-start-string", "start_times: now", "destinations: [dst]\nstart_times: now\n")
    camp("campaign-start-extra-key", "start_times with a third key", "destinations: [dst]\n"
         "start_times: {every: 1, count: 2, jitter: 1}\n")
    camp("campaign-dst-secret", "a destination that is the secret (not echoed)", f"destinations: [{SECRET}]\n")
    camp("campaign-vp-secret", "a vantage point that is the secret (not echoed)",
         f"vantage_points: [{SECRET}]\ndestinations: [dst]\n")
    camp("campaign-key-secret", "an unknown field that is the secret (not echoed)", f"{SECRET}: 1\ndestinations: [dst]\n")
    camp("campaign-dst-number", "a destination that is a number", "destinations: [5]\n")
    camp("campaign-dst-mapping", "destinations as a mapping", "destinations: {a: 1}\n")
    camp("campaign-vp-number", "vantage_points: 5", "vantage_points: 5\ndestinations: [dst]\n")
    camp("campaign-python-tag", "a python tag in a campaign", "destinations: !!python/object/apply:os.system "
         "['touch CANARY_PATH']\n")
    camp("campaign-deep", "a campaign nested 10,000 deep", "destinations: " + "[" * 10000 + "]" * 10000 + "\n")
    camp("campaign-not-utf8", "Latin-1 bytes in a campaign", b"destinations: [caf\xe9]\n")
    camp("campaign-list", "a list at the top", "- 1\n")
    add("campaign-fifo", "a FIFO as the campaign file", {},
        argv=["probe", LIB, "--runtime", "netns", "--campaign", "c.yaml"], setup=_fifo("c.yaml"), needle="FIFO")
    add("campaign-secret-file", "the secret file as a campaign (not echoed)", {},
        argv=["probe", LIB, "--runtime", "netns", "--campaign", "../secret.txt"])
    add("campaign-dev-zero", "/dev/zero as a campaign", {},
        argv=["probe", LIB, "--runtime", "netns", "--campaign", "/dev/zero"], needle="device")

    # ========================================================================== names
    plain = ("routers:\n  r1: {}\n  r2: {}\nhosts:\n  vp: {}\nlinks:\n  - [vp, r1]\n  - [r1, r2]\n"
             "probes:\n  - {from: vp, to: r2}\n")
    nl_name = "lab\nr1 ok\n$(touch CANARY_PATH).yaml"
    for cmd, extra in (("validate", []), ("render", []), ("truth", []), ("show", ["r1"]),
                       ("export", ["--to", "containerlab", "exp"]), ("run", ["--runtime", "sim"]),
                       ("probe", ["--runtime", "sim"]), ("trace", []), ("graph", ["-o", "g.png"]),
                       ("up", []), ("score", ["r.json"]), ("vm", []), ("ondemand", []), ("sweep", []),
                       ("deploy", ["--with", "containerlab"])):
        add(f"name-newline-{cmd}", f"{cmd}: a lab file named with a newline and $(...) (refused in one line)",
            {nl_name: plain, "r.json": _doc()}, argv=[cmd, nl_name, *extra], needle="newline")
    for cmd, extra in (("validate", []), ("render", []), ("up", []), ("export", ["--to", "containerlab", "exp"])):
        add(f"name-dots-{cmd}", f"{cmd}: a lab without name: in a file named ...yaml (render wrote outside)",
            {"...yaml": plain}, argv=[cmd, "...yaml", *extra], needle="not a valid name")
    add("name-stem-upper", "a lab without name: in 'My Lab.yaml'", {"My Lab.yaml": plain}, argv=["validate", "My Lab.yaml"],
        needle="not a valid name")
    add("name-stem-escape", "a lab without name: whose file name holds an escape", {"a\x1b[2J.yaml": plain},
        argv=["validate", "a\x1b[2J.yaml"], forbid="\x1b[2J")
    add("name-stem-too-long", "a lab without name: in a 40-character file name", {"a" * 40 + ".yaml": plain},
        argv=["render", "a" * 40 + ".yaml"], needle="not a valid name")
    add("name-stem-semicolon", "a lab without name: in 'x;reboot.yaml'", {"x;reboot.yaml": plain},
        argv=["render", "x;reboot.yaml"], needle="not a valid name")
    add("name-stem-ok", "a lab without name: in a valid file name (accepted)", {"good-lab.yaml": plain},
        argv=["validate", "good-lab.yaml"], expect="valid")
    add("name-arg-newline", "--name with a newline", {}, argv=["probe", LIB, "--name", "a\nb"], needle="instance name")
    add("name-arg-upper", "--name UPPER", {}, argv=["probe", LIB, "--name", "UPPER"], needle="instance name")
    add("name-arg-long", "--name of 30 characters", {}, argv=["probe", LIB, "--name", "a" * 30], needle="instance name")
    add("name-not-yaml", "validate a file that is not .yaml (never parsed, never echoed)", {}, argv=["validate", "../secret.txt"])
    add("name-etc-shadow", "validate /etc/shadow (printed every line before)", {}, argv=["validate", "/etc/shadow"])
    add("label-base-top", "label_base: 1048575 (labels beyond 20 bits before)",
        {"lab.yaml": plain.replace("r1: {}", "r1: {behaviour: {label_base: 1048575}}") +
         "mpls:\n  core: {routers: [r1, r2]}\n"}, needle="label_base")
    add("label-base-top-up", "up with label_base: 1048575 refused before building",
        {"lab.yaml": plain.replace("r1: {}", "r1: {behaviour: {label_base: 1048575}}") +
         "mpls:\n  core: {routers: [r1, r2]}\n"}, argv=["up", "lab.yaml", "--name", "sec"], needle="label_base")

    # ========================================================================== arguments
    for name, argv, needle in (
            ("matrix-limit-huge", ["matrix", "--limit", "99999999999999999999"], "1 to 100000"),
            ("matrix-limit-negative", ["matrix", "--limit", "-5"], "1 to 100000"),
            ("matrix-limit-word", ["matrix", "--limit", "many"], "whole number"),
            ("matrix-limit-4400-digits", ["matrix", "--limit", "9" * 4400], "whole number"),
            ("matrix-scheduler-garbage", ["matrix", "--scheduler", "garbage"], "scheduler address"),
            ("matrix-scheduler-inject", ["matrix", "--scheduler", "tcp://h:1; rm -rf /"], "scheduler address"),
            ("matrix-workers-300", ["matrix", "--workers", "300"], "1 to 64"),
            ("matrix-workers-zero", ["matrix", "--workers", "0"], "1 to 64"),
            ("matrix-show-negative", ["matrix", "--show", "-1"], "0 to 100000"),
            ("scoreboard-workers-300", ["scoreboard", "--workers", "300"], "1 to 64"),
            ("sweep-scheduler-garbage", ["sweep", LIB, "--scheduler", "x"], "scheduler address"),
            ("run-seed-float", ["run", LIB, "--seed", "1e5"], "whole number"),
            ("run-seed-huge", ["run", LIB, "--seed", "9" * 30], "whole number"),
            ("run-flow-word", ["run", LIB, "--runtime", "sim", "--", "--flow", "xyz"], "flow"),
            ("run-flow-zero", ["run", LIB, "--runtime", "sim", "--", "--flow", "0"], "flow"),
            ("probe-parallel-zero", ["probe", LIB, "--parallel", "0"], "1 to 256"),
            ("probe-parallel-huge", ["probe", LIB, "--parallel", "100000"], "1 to 256"),
            ("probe-repeat-zero", ["probe", LIB, "--repeat", "0"], "1 to 1000"),
            ("vm-mem-tiny", ["vm", LIB, "--mem", "5"], "16 to 65536"),
            ("vm-timeout-nan", ["vm", LIB, "--timeout", "nan"], "number"),
            ("vm-timeout-inf", ["vm", LIB, "--timeout", "inf"], "number"),
            ("vm-ip-override", ["vm", LIB, "--", "--ip", "11.0.0.9/24"], "uTNT options"),
            ("up-workers-300", ["up", LIB, "--workers", "300", "--name", "sec"], "1 to 64"),
            ("up-converge-nan", ["up", LIB, "--converge-timeout", "nan", "--name", "sec"], "number"),
            ("capture-count-zero", ["capture", "sec", "r1", "eth0", "-c", "0"], "1 to"),
            ("capture-timeout-inf", ["capture", "sec", "r1", "eth0", "--timeout", "inf"], "number"),
            ("ondemand-interval-inf", ["ondemand", LIB, "--interval", "inf"], "number"),
            ("ondemand-events-huge", ["ondemand", LIB, "--events", "10000000"], "1 to 100000"),
            ("ondemand-nodes-zero", ["ondemand", LIB, "--nodes", "0"], "1 to 256"),
            ("import-share-two", ["import", "topozoo:Abilene", "-o", "x.yaml", "--mpls-share", "2"], "0 to 1"),
            ("import-vps-zero", ["import", "topozoo:Abilene", "-o", "x.yaml", "--vps", "0"], "1 to 10000"),
            ("import-seed-word", ["import", "topozoo:Abilene", "-o", "x.yaml", "--seed", "x"], "whole number"),
            ("score-format-unknown", ["score", LIB, "r.json", "--format", "xml"], "unknown format"),
    ):
        add(f"arg-{name}", " ".join(argv)[:70], {"r.json": _doc()}, argv=argv, needle=needle)

    # ========================================================================== state records
    for name, text, argv in (
            ("deep", "[" * 100000 + "]" * 100000, ["status", "secst-deep"]),
            ("deep-status-all", "[" * 100000 + "]" * 100000, ["status"]),
            ("deep-down", "{" * 1 + '"a":' + "[" * 100000 + "]" * 100000 + "}", ["down", "secst-down"]),
            ("nan", '{"name": "secst-nan", "pid": NaN}', ["status", "secst-nan"]),
            ("huge-int", '{"name": "secst-int", "pid": ' + "9" * 5000 + "}", ["status", "secst-int"]),
            ("binary", "\x00\x01\x02", ["status", "secst-bin"]),
            ("source-secret", json.dumps({"schema": 1, "name": "secst-src", "lab": "secst-src", "status": "up",
                                          "source": "SECRET_PATH", "params": {}}), ["score", "--name", "secst-src",
                                                                                     "r.json"]),
            ("source-secret-probe", json.dumps({"schema": 1, "name": "secst-prb", "lab": "secst-prb", "status": "up",
                                                "source": "SECRET_PATH", "params": {}}),
             ["probe", LIB, "--name", "secst-prb", "--runtime", "netns"]),
            ("source-shadow", json.dumps({"schema": 1, "name": "secst-shd", "lab": "secst-shd", "status": "up",
                                          "source": "/etc/shadow", "params": {}}), ["score", "--name", "secst-shd",
                                                                                     "r.json"]),
    ):
        inst = argv[argv.index("--name") + 1] if "--name" in argv else (argv[1] if len(argv) > 1 else "secst-all")
        make, undo = _run_folder(inst, text)
        add(f"state-{name}", f"a state.json ({name.replace('-', ' ')}) read by {' '.join(argv[:2])}",
            {"r.json": _doc()}, argv=argv, setup=make, teardown=undo,
            expect="refused" if argv[0] not in ("status", "down") else "quiet")
    return C
