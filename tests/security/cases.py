"""Hostile and careless inputs to the testbed, each with what must happen to it.

A case is a lab folder (files, links) plus a command line. Every case runs in a folder of
its own beside a secret file (SECRET, outside the lab's folder: no payload may read it) and
under a canary path (a payload that could run code would create it). `run_case` runs the
command in this process (the CLI's main(), as the `testbed` command does) or, for the few
cases that need a real process (a signal, a closed pipe), in a subprocess, and reports:
exit status, the error lines, whether anything was left behind (files in the case folder
or in its private TMPDIR, namespaces, links, run folders, child processes) and whether the
secret leaked into the output.

expect: "refused" (exit 2 or 1 with one line per problem, nothing run), "library" (a
same-named local snippet is ignored: the library's is used and the lab is valid) or "valid"
(a valid input a hostile-looking rule must not refuse: exit 0, no traceback).

Other modules add cases: every tests/security/cases*.py with a cases() function is collected
(collect.all_cases), so helpers working on other readers or runtimes add a file of their own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-d0-n0t-l34k-7f1c"
CANARY = "CANARY_PATH"           # replaced by the case's canary file path

BASE = """\
name: sec
description: "{desc}"
routers:
  r1: {{}}
  r2: {{}}
hosts:
  vp: {{}}
links:
  - [vp, r1]
  - [r1, r2]
probes:
  - {{from: vp, to: r2}}
"""


def lab(desc: str = "plain", **extra) -> str:
    text = BASE.format(desc=desc)
    for k, v in extra.items():
        text = text.replace(k, v)
    return text


def tmpl(payload: str) -> str:
    """A valid lab whose description is a template payload."""
    return "{% set z = 1 %}\n" + BASE.format(desc="x").replace('description: "x"', f"description: {payload}")


@dataclass
class Case:
    name: str
    what: str
    files: dict = field(default_factory=dict)       # relative path -> text (or ("link", target))
    argv: list = field(default_factory=lambda: ["validate", "lab.yaml"])
    expect: str = "refused"
    needle: str = ""                                # a word the error line must contain
    process: str = ""                               # "" in-process; "sigint", "pipe", "utnt", "stdin": subprocess
    slow: bool = False
    forbid: str = ""                                # text the output must not contain (a raw escape, a value)
    setup: object = None                            # setup(labdir): what files cannot say (a FIFO, a run folder)
    teardown: object = None                         # teardown(labdir): undo what setup made outside the folder


def _alias_bomb() -> str:
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for k in "bcdefghi":
        rows.append(f"{k}: &{k} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = k
    return "\n".join(rows) + "\n"


BOMB = _alias_bomb()


def cases() -> list[Case]:
    C = []

    def add(*a, **kw):
        C.append(Case(*a, **kw))
    # ---------------------------------------------------------------- template injection (SSTI)
    ssti = {
        "ssti-cycler-globals": "{{ cycler.__init__.__globals__.os.popen('touch CANARY_PATH').read() }}",
        "ssti-joiner-globals": "{{ joiner.__init__.__globals__.os.system('touch CANARY_PATH') }}",
        "ssti-namespace-globals": "{{ namespace.__init__.__globals__['os'].system('touch CANARY_PATH') }}",
        "ssti-lipsum-globals": "{{ lipsum.__globals__.os.system('touch CANARY_PATH') }}",
        "ssti-self": "{{ self.__init__.__globals__ }}",
        "ssti-mro-subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "ssti-attr-filter": "{{ ''|attr('__class__')|attr('__mro__') }}",
        "ssti-getitem-concat": "{{ ''['__cla' ~ 'ss__'] }}",
        "ssti-format-attr": "{{ '{0.__class__.__mro__}'.format(1) }}",
        "ssti-format-map": "{{ '{x.__class__}'.format_map({'x': 1}) }}",
        "ssti-int-class": "{{ (1).__class__.__base__.__subclasses__() }}",
        "ssti-type-mro": "{{ dict.mro() }}",
        "ssti-builtins-open": "{{ __builtins__['open']('SECRET_PATH').read() }}",
        "ssti-config-request": "{{ config.items() }}{{ request.environ }}",
        "ssti-loop-subclasses": "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "ssti-set-class": "{% set x = ''.__class__ %}{{ x }}",
        "ssti-mutate-list": "{% set l = [1] %}{{ l.append(2) }}{{ l }}",
        "ssti-mutate-dict": "{% set d = dict(a=1) %}{{ d.update(b=2) }}",
        "ssti-func-globals": "{{ range.__call__.__self__ }}",
        "ssti-macro-func-code": "{% macro m() %}{% endmacro %}{{ m.__code__ }}",
        "ssti-unicode-escape-attr": "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
        "ssti-gen-frame": "{{ (x for x in [1]).gi_frame }}",
        "ssti-str-translate-huge": "{{ 'a'.ljust(1000000000) }}",
    }
    for n, p in ssti.items():
        add(n, "template injection: " + p[:60], {"lab.yaml": tmpl(p)})
    # ---------------------------------------------------------------- template resource exhaustion
    add("tmpl-repeat-string", "'x' * 10**8 in a template", {"lab.yaml": tmpl("{{ 'x' * 100000000 }}")})
    add("tmpl-power-tower", "9 ** 9 ** 9", {"lab.yaml": tmpl("{{ 9 ** 9 ** 9 }}")})
    add("tmpl-range-huge", "range(10**9) | list", {"lab.yaml": tmpl("{{ range(1000000000) | list }}")})
    add("tmpl-center-filter", "a filter asked for a gigabyte", {"lab.yaml": tmpl("{{ 'a' | center(1000000000) }}")})
    add("tmpl-output-flood", "a loop writing 5 MB", {"lab.yaml": tmpl(
        "{% for i in range(5000) %}{{ 'x' * 1000 }}{% endfor %}")})
    add("tmpl-busy-loop", "a loop of 10**10 empty iterations (deadline)", {"lab.yaml": tmpl(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")}, slow=True)
    add("tmpl-recursive-macro", "a macro calling itself", {"lab.yaml": tmpl(
        "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")})
    add("tmpl-deep-blocks", "if-blocks nested 2,000 deep", {"lab.yaml": "{% if 1 %}" * 2000 + "{% endif %}" * 2000
                                                               + "\n" + lab()})
    add("tmpl-deep-parens", "an expression nested 5,000 parentheses deep",
        {"lab.yaml": "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}\n" + lab()})
    add("tmpl-self-include", "a lab including itself", {"lab.yaml": "{% include 'lab.yaml' %}\n" + lab()})
    # ---------------------------------------------------------------- include / import / extends tricks
    inc = {
        "include-absolute": "{% include '/etc/passwd' %}",
        "include-dotdot": "{% include '../secret.txt' %}",
        "include-dotdot-library": "{% include '_chain.j2/../../secret.txt' %}",
        "include-subdir": "{% include 'sub/evil.j2' %}",
        "include-topologies-path": "{% include 'topologies/../../etc/passwd' %}",
        "import-absolute": "{% import '/etc/passwd' as x %}",
        "from-import-dotdot": "{% from '../secret.txt' import x %}",
        "extends-dotdot": "{% extends '../secret.txt' %}",
        "include-unicode-slash": "{% include '\u2215etc\u2215passwd' %}",
        "include-fullwidth-dots": "{% include '\uff0e\uff0e/secret.txt' %}",
        "include-list-escape": "{% include ['nothere.j2', '../secret.txt'] %}",
        "include-nul": "{% include 'a\\x00b' %}",
    }
    for n, p in inc.items():
        add(n, "include trick: " + p, {"lab.yaml": p + "\n" + lab(), "sub/evil.j2": "x: 1\n"})
    add("include-symlink-out", "a snippet that is a link to a file outside the lab's folder",
        {"lab.yaml": "{% include 'evil.j2' %}\n" + lab(), "evil.j2": ("link", "../secret.txt")})
    add("include-symlink-etc", "a snippet linked to /etc/hostname",
        {"lab.yaml": "{% include 'evil.j2' %}\n" + lab(), "evil.j2": ("link", "/etc/hostname")})
    add("include-symlink-dir", "the snippet's folder is a link out (sub -> /etc)",
        {"lab.yaml": "{% include 'passwd' %}\n" + lab(), "passwd": ("link", "/etc/passwd")})
    add("include-via-set", "an include name from --set with a path",
        {"lab.yaml": "{% include name %}\n" + lab()}, argv=["validate", "lab.yaml", "--set", "name=../secret.txt"])
    add("include-via-set-word", "an include name from --set that names no file of the lab",
        {"lab.yaml": "{% include name %}\n" + lab()}, argv=["validate", "lab.yaml", "--set", "name=hostname"])
    shadow = lab().replace("links:\n  - [vp, r1]\n  - [r1, r2]\n", "") \
        .replace("routers:\n  r1: {}\n  r2: {}\nhosts:\n  vp: {}\n", "{% set lsrs = 2 %}\n{% set vendor = 'cisco' %}\n"
                 "{% include '_routers.j2' %}\n{% include '_chain.j2' %}\n").replace("probes:\n  - {from: vp, to: r2}\n", "")
    add("shadow-library-snippet", "a local _chain.j2 beside the lab (library wins)",
        {"lab.yaml": shadow, "_chain.j2": "{{ cycler.__init__.__globals__.os.system('touch CANARY_PATH') }}\n"},
        expect="library")
    add("shadow-local-asked", "--local-includes with a hostile local _chain.j2 (still sandboxed)",
        {"lab.yaml": shadow, "_chain.j2": "{{ cycler.__init__.__globals__.os.system('touch CANARY_PATH') }}\n"},
        argv=["validate", "lab.yaml", "--local-includes"])
    # ---------------------------------------------------------------- YAML
    add("yaml-alias-bomb", f"a {len(BOMB)}-byte alias bomb (billion laughs)", {"lab.yaml": BOMB}, needle="aliases")
    add("yaml-alias-bomb-571", "a bigger alias bomb", {"lab.yaml": BOMB.replace('"lol"', '"lolol"') + "j: &j [" +
                                                         ",".join(["*i"] * 9) + "]\n"})
    add("yaml-recursive-alias", "an alias inside itself", {"lab.yaml": "routers: &a {r1: *a}\nlinks: [[r1, r1]]\n"})
    add("yaml-deep-lists", "lists nested 10,000 deep", {"lab.yaml": "routers: " + "[" * 10000 + "]" * 10000 + "\n"})
    add("yaml-deep-maps", "mappings nested 2,000 deep", {"lab.yaml": "routers: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n"})
    add("yaml-python-name", "!!python/name:os.system", {"lab.yaml": lab("x").replace('"x"', "!!python/name:os.system")})
    add("yaml-python-apply", "!!python/object/apply:os.system", {"lab.yaml": lab("x").replace(
        '"x"', "!!python/object/apply:os.system ['touch CANARY_PATH']")})
    add("yaml-python-module", "!!python/module:os", {"lab.yaml": lab("x").replace('"x"', "!!python/module:os")})
    add("yaml-binary-tag", "!!binary", {"lab.yaml": lab("x").replace('"x"', "!!binary aGVsbG8=")})
    add("yaml-local-tag", "a local tag !foo", {"lab.yaml": lab("x").replace('"x"', "!foo bar")})
    add("yaml-set-tag", "!!set", {"lab.yaml": lab("x").replace('"x"', "!!set {a, b}")})
    add("yaml-complex-key", "a list as a mapping key", {"lab.yaml": "? [a, b]\n: 1\n" + lab()})
    add("yaml-duplicate-key", "a router declared twice", {"lab.yaml": lab(**{"  r2: {}\n": "  r2: {}\n  r1: {}\n"})})
    add("yaml-huge-file", "a 2 MB lab file", {"lab.yaml": lab() + "#" + "x" * (2 << 20) + "\n"})
    add("yaml-not-mapping", "a list at the top", {"lab.yaml": "- 1\n- 2\n"})
    add("yaml-empty", "an empty file", {"lab.yaml": ""})
    add("yaml-merge-key", "a merge key", {"lab.yaml": "x: &d {vendor: cisco}\n" + lab(**{"r1: {}": "r1: {<<: *d}"})})
    # ---------------------------------------------------------------- numbers and fields
    add("field-cost-true", "cost: true (a bool is not 1)", {"lab.yaml": lab(**{"- [r1, r2]": "- {endpoints: [r1, r2], cost: true}"})},
        needle="1..65535")
    add("field-cost-float", "cost: 1.5", {"lab.yaml": lab(**{"- [r1, r2]": "- {endpoints: [r1, r2], cost: 1.5}"})})
    add("field-cost-zero", "cost: 0", {"lab.yaml": lab(**{"- [r1, r2]": "- {endpoints: [r1, r2], cost: 0}"})})
    add("field-rate-1e400", "icmp_rate_limit: 1.0e400 (infinity)", {"lab.yaml": lab(**{"r1: {}": "r1: {icmp_rate_limit: 1.0e400}"})})
    add("field-rate-1e400-int", "icmp_rate_limit: 1e400", {"lab.yaml": lab(**{"r1: {}": "r1: {icmp_rate_limit: 1e400}"})})
    add("field-rate-huge-int", "icmp_rate_limit: 10**30", {"lab.yaml": lab(**{"r1: {}": "r1: {icmp_rate_limit: " + "9" * 30 + "}"})})
    add("field-delay-nan", "delay_ms: .nan", {"lab.yaml": lab(**{"- [r1, r2]": "- {endpoints: [r1, r2], delay_ms: .nan}"})})
    add("field-delay-inf", "delay_ms: .inf", {"lab.yaml": lab(**{"- [r1, r2]": "- {endpoints: [r1, r2], delay_ms: .inf}"})})
    add("field-ttl-propagate-yes", "ttl_propagate: 'yes' (a string)", {"lab.yaml": lab() + "mpls:\n  core: {routers: [r1, r2], ttl_propagate: 'yes'}\n"})
    add("field-prefix-bool", "prefix: true", {"lab.yaml": lab(**{"- [r1, r2]": "- {endpoints: [r1, r2], prefix: true}"})})
    add("field-long-description", "a 10 kB description", {"lab.yaml": lab("d" * 10000)})
    add("field-timestamp-name", "a date as a node name", {"lab.yaml": lab(**{"  r2: {}\n": "  r2: {}\n  2001-01-01: {}\n"})})
    # ---------------------------------------------------------------- addressing
    add("addr-pools-overlap", "loopbacks pool equal to links pool",
        {"lab.yaml": "addressing: {loopbacks: 11.0.0.0/16, links: 11.0.0.0/16}\n" + lab()}, needle="overlaps")
    add("addr-loopback-reserved", "loopback: 10.0.0.1", {"lab.yaml": lab(**{"r1: {}": "r1: {loopback: 10.0.0.1}"})},
        needle="reserved")
    add("addr-link-reserved", "a 192.168.1.0/31 link address",
        {"lab.yaml": lab(**{"- [r1, r2]": "- {endpoints: [{node: r1, address: 192.168.1.0/31}, r2]}"})}, needle="reserved")
    add("addr-loopback-dup", "two routers with one loopback",
        {"lab.yaml": lab(**{"r1: {}": "r1: {loopback: 11.255.9.9}", "r2: {}": "r2: {loopback: 11.255.9.9}"})})
    add("addr-loopback-on-link", "a loopback equal to a link address",
        {"lab.yaml": lab(**{"r1: {}": "r1: {loopback: 11.9.0.1}",
                            "- [r1, r2]": "- {endpoints: [{node: r1, address: 11.9.0.0/31}, {node: r2, address: 11.9.0.1/31}]}"})})
    add("addr-fullwidth-digits", "an address written in fullwidth digits",
        {"lab.yaml": lab(**{"r1: {}": "r1: {loopback: \uff11\uff11.255.9.9}"})})
    add("addr-pool-reserved", "a links pool in 10/8", {"lab.yaml": "addressing: {links: 10.0.0.0/16}\n" + lab()})
    # ---------------------------------------------------------------- unicode and bytes
    add("unicode-bidi-override", "a right-to-left override in the file (Trojan Source)",
        {"lab.yaml": lab("ok \u202e gnp.eliforp")})
    add("unicode-cyrillic-name", "a router name with a Cyrillic 'а'", {"lab.yaml": lab(**{"  r2: {}\n": "  r2: {}\n  \u0430r3: {}\n"})})
    add("unicode-nul-byte", "a NUL byte in the file", {"lab.yaml": lab("a\x00b")})
    add("unicode-not-utf8", "Latin-1 bytes", {"lab.yaml": b"name: caf\xe9\n" + lab().encode()})
    add("unicode-zero-width-name", "a zero-width space in a node name",
        {"lab.yaml": lab(**{"  r2: {}\n": "  r2: {}\n  r\u200b3: {}\n"})})
    # ---------------------------------------------------------------- parameters and command line
    lib = "invisible-php"
    for n, s, needle in (("set-empty-key", "=5", "parameter name"), ("set-float-lsrs", "lsrs=1.5", "1..250"),
                         ("set-huge-lsrs", "lsrs=2000", "1..250"), ("set-bool-lsrs", "lsrs=true", "1..250"),
                         ("set-zero-lsrs", "lsrs=0", "1..250"), ("set-long-int", "lsrs=" + "9" * 40, ""),
                         ("set-path-vendor", "vendor=../../etc/passwd", "no '/'"),
                         ("set-yaml-injection", "vendor=cisco}, loopback: 10.0.0.1, x: {", ""),
                         ("set-unknown-param", "lsr=3", "reads no parameter"),
                         ("set-unknown-vendor", "vendor=cisko", "cisco"),
                         ("set-no-equals", "lsrs", "NAME=VALUE"),
                         ("set-ssti-value", "vendor={{7*7}}", ""),
                         ("set-dunder-key", "__class__=1", "parameter name")):
        add(n, f"--set {s}", {}, argv=["validate", lib, "--set", s], needle=needle)
    add("name-empty", "--name ''", {}, argv=["probe", lib, "--name", ""], needle="instance name")
    add("name-traversal", "--name ../../etc", {}, argv=["probe", lib, "--name", "../../etc"], needle="instance name")
    add("lab-name-traversal", "a path out of the library (/etc/passwd): read as asked, never echoed", {}, argv=["validate", "../../../etc/passwd"])
    add("escape-in-lab-path", "a terminal escape sequence in the lab's path (shown escaped)", {},
        argv=["validate", "\x1b]0;pwned\x07\x1b[2J.yaml"], needle="\\x1b")
    add("escape-in-lab-file", "a terminal escape sequence inside the lab file", {"lab.yaml": lab("\x1b[2Jgone")})
    add("lab-dir", "a folder as the lab", {"d/x": "1"}, argv=["validate", "d"])
    add("show-unknown-node", "show LAB nosuchnode (exit 2)", {}, argv=["show", lib, "nosuchnode"])
    # (--from a router is a router vantage point now: tests/test_lab_files.py test_trace_from_a_router)
    add("trace-from-switch", "trace --from the switch namespace's name", {}, argv=["trace", lib, "--from", "_sw"])
    add("trace-from-nobody", "trace --from nobody", {}, argv=["trace", lib, "--from", "nobody"])
    add("trace-to-nonsense", "trace --to nonsense", {}, argv=["trace", lib, "--to", "no/such"])
    add("probe-from-nobody", "probe --from nobody", {}, argv=["probe", lib, "--from", "nobody", "--runtime", "sim"])
    add("graph-missing-folder", "graph -o into a folder that does not exist", {},
        argv=["graph", lib, "-o", "nosuchdir/x.png"])
    add("argparse-unknown-option", "an unknown option", {}, argv=["validate", lib, "--bogus"])
    add("utnt-bad-option", "a bad uTNT option after --", {}, argv=["run", lib, "--runtime", "sim", "--", "-f", "x"])
    add("json-error", "--json on bad input gives JSON", {}, argv=["show", lib, "nosuchnode", "--json"])
    # ---------------------------------------------------------------- real processes
    add("json-into-head", "--json output piped into head -c 10", {}, argv=["truth", lib, "--set", "lsrs=30", "--json"],
        process="pipe",
        expect="quiet")
    for d in (0.3, 0.6, 1.0):
        add(f"ctrl-c-{d}s", f"Ctrl-C {d} s after start", {}, argv=["validate", lib], process="sigint", expect="quiet")
    add("utnt-no-tap", "utnt --tap nosuchtap outside a lab", {}, argv=["-i", "11.0.0.1", "--tap", "sectap0",
                                                                        "--ip", "11.0.0.2/24", "--gw", "11.0.0.1"],
        process="utnt")
    add("down-all-no-stdin", "down --all with no terminal to ask on", {}, argv=["down", "--all"], process="stdin",
        expect="refused-or-empty")
    return C
