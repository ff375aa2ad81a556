"""`testbed probe LAB`: attach uTNT to a lab (the sim, or a lab instance that is up) and print its traces."""
from __future__ import annotations

import json
import os
import sys

from testbed.cli.arguments import add_detector_args, add_lab_command, add_runtime_arg
from testbed.cliargs import SEED, fail_if_unvouched, int_in, load_lab_arg, print_json
from testbed.errors import TestbedError


def run(args):
    from testbed.experiments.parallel import load_campaign
    try:
        lab, args.runtime, args.name = probe_target(args, load_lab_arg)     # the running state decides
    except TestbedError:
        if args.campaign:           # a bad campaign file is told first (exit 2), whether or not the lab is up
            load_campaign(load_lab_arg(args), args.campaign)
        raise
    if args.campaign:               # checked against the lab that runs (an instance's name is no lab file)
        load_campaign(lab, args.campaign)
    if args.parallel or args.campaign or args.repeat > 1 or (args.source and (args.source == "all"
                                                                              or "," in args.source)):
        return probe_instances(args, lab)            # many instances at once
    from testbed.api import attach
    res = attach(lab, args.runtime, args.name).probe(args.detector, args.utnt, args.source, args.dest, seed=args.seed,
                                                     cmd=args.detector_cmd, fmt=args.format, truth=False)
    traces, skipped = res.traces, res.skipped
    bad = skipped + [{"vantage_point": t.get("vantage_point"), "dst": t.get("dst"), "why": t["unvouched"]}
                     for t in traces if t.get("unvouched")]
    from testbed.truth import lab_digest
    doc = {"format": "utnt", "version": 1, "lab": lab.name, "lab_digest": lab_digest(lab), "runtime": args.runtime,
           "traces": traces}
    if args.detector or args.detector_cmd:
        doc["detector"] = res.described
    if bad:
        doc["unvouched"] = bad
    if getattr(args, "scamper_json", False):
        from utnt.jsonload import trace_from_json
        from utnt.scamper_json import dump_scamper_json
        sys.stdout.write(dump_scamper_json(trace_from_json(t) for t in traces))
    elif args.json:
        print_json(doc)
    elif all("index" in h for t in traces for h in t.get("hops") or []):      # whole uTNT records: its own dump
        from utnt.jsonload import dump_text_json
        sys.stdout.write(dump_text_json(traces))
    else:
        from testbed.detectors.views import trace_text
        sys.stdout.write("".join(trace_text(t) + "\n" for t in traces))
    fail_if_unvouched(bad)


def probe_target(args, load):
    """What `testbed probe LAB [--name N] [--runtime R]` probes: (lab, runtime, instance).

    The running state decides: `probe NAME` of a lab that is up probes that lab (loaded from
    its recorded file and parameters, so results carry its real name); `--name N` must run
    the lab given; a lab asked for on the netns runtime (--runtime netns or --name) that is
    not up is an error, never a silent fall-back to the sim."""
    from pathlib import Path

    from testbed.errors import InputError
    from testbed.lab import load_lab
    from testbed.lab.loader import find_lab, parse_sets
    from testbed.runtimes import registry
    from testbed.runtimes.netns import names
    asked = registry.get(args.runtime) if args.runtime is not None else None
    if asked is not None and asked.in_process:
        return load(args), asked.name, None
    inst = args.name if args.name is not None else args.lab
    rt = registry.owner(inst) if names.NAME_RE.match(inst or "") and os.geteuid() == 0 else None
    st = rt.record(inst) if rt is not None else None
    if st is None:
        if asked is not None or args.name is not None:
            running = ", ".join(registry.instances()) or "none"
            raise InputError(f"lab '{inst}' is not up (running: {running}); start it with `testbed up "
                             f"{args.lab}{' --name ' + inst if inst != args.lab else ''}` or probe the "
                             f"{registry.DEFAULT} with --runtime {registry.DEFAULT}")
        return load(args), registry.DEFAULT, None
    if asked is not None and asked is not rt:
        raise InputError(f"lab '{inst}' runs on the {rt.name} runtime, not {asked.name}; leave --runtime out or "
                         f"give --runtime {rt.name}")
    if st.get("status") == "corrupt":
        raise InputError(st["problem"])
    if args.lab != inst or args.set:
        given = Path(find_lab(args.lab)).resolve()
        if str(given) != str(Path(st.get("source", "")).resolve()) or \
                (args.set and parse_sets(args.set) != (st.get("params") or {})):
            raise InputError(f"lab '{inst}' runs {st.get('lab')} ({st.get('source')}, parameters "
                             f"{st.get('params') or 'none'}), not {args.lab}"
                             f"{' with ' + ' '.join(args.set) if args.set else ''}; probe it as "
                             f"`testbed probe {inst}`, or give another --name")
    lab = load_lab(st["source"], st.get("params") or {}, name=st.get("lab"), **(st.get("options") or {}))
    from testbed.cliargs import check_endpoints
    # `--from all` and `--from vp1,vp2` (many instances) are checked name by name there
    check_endpoints(lab, getattr(args, "source", None), getattr(args, "dest", None))
    rt.require_healthy(inst)
    return lab, rt.name, inst


def probe_instances(args, lab):
    from testbed.experiments.parallel import entries_for, load_campaign, print_many, probe_many
    from testbed.runtimes import registry
    if not registry.get(args.runtime).taps:
        raise TestbedError("--parallel, --campaign and --from all run detector instances on a running lab's "
                           f"taps: `testbed up {lab.name}` first (runtime with taps: "
                           f"{', '.join(registry.names(taps=True))})")
    if args.repeat < 1:
        raise TestbedError("--repeat must be >= 1")
    name = args.name or lab.name
    entries = load_campaign(lab, args.campaign) if args.campaign else \
        entries_for(lab, args.source, args.dest, args.repeat)
    progress = None
    if not args.json:
        def progress(msg):
            print(f"» {msg}", file=sys.stderr, flush=True)
    doc = probe_many(lab, name, entries, args.parallel or 1, args.utnt, progress)
    if args.json:
        json.dump(doc, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print_many(doc)
    if not doc["ok"]:
        raise SystemExit(1)      # an instance failed, or traces the lab cannot vouch for: not a success


def add_parser(sub):
    s = add_lab_command(sub, "probe", run, "attach a detector (uTNT by default) to a lab and print its traces")
    add_runtime_arg(s, None, "default: the runtime of the lab instance of that name if one is up, else sim",
                    any_=True)
    s.add_argument("--from", dest="source", help="vantage point (host); with probe also 'all' or vp1,vp2 (one "
                   "instance each)")
    s.add_argument("--to", dest="dest", help="destination (node or address)")
    s.add_argument("--name", help="running lab name (netns; default: the lab's name)")
    s.add_argument("--scamper-json", action="store_true", help="the traces as scamper JSON, one per line")
    s.add_argument("--seed", type=SEED, help="seed of the probes' Paris flows: same seed, same traces")
    s.add_argument("--parallel", type=int_in(1, 256), metavar="N", help="run up to N uTNT instances at once, each on a tap "
                   "of its own with its own address and MAC (netns: the lab must be up)")
    s.add_argument("--campaign", metavar="FILE", help="vantage points x destinations x start times (YAML)")
    s.add_argument("--repeat", type=int_in(1, 1000), default=1, metavar="K", help="K instances per vantage point and target")
    add_detector_args(s)
