"""Security cases of the runtimes' process handling (issue 21), in the shape of cases.py's Case,
for the report to collect beside cases.cases(). Only what runs as a case (a command on a lab
folder, nothing brought up) is here; what needs a running lab, a second user or a killed
process is tested on real processes in tests/test_procs_faults.py, tests/test_vm_procs.py and
tests/test_mininet_runtime.py."""
from __future__ import annotations

from cases import Case, lab


def cases() -> list[Case]:
    C = []

    def add(*a, **kw):
        C.append(Case(*a, **kw))
    # the guest kernel's command line holds 2,048 bytes: refused before anything is brought up
    # (it was a 300 s hang, then exit 0)
    add("vm-cmdline-2500-bytes", "testbed vm with 2.5 KB of detector arguments", {"lab.yaml": lab()},
        argv=["vm", "lab.yaml", "--", "-x", "a" * 2500], needle="kernel command line")
    add("vm-cmdline-multibyte", "testbed vm with 1,100 two-byte characters (2,200 bytes, 1,100 characters)",
        {"lab.yaml": lab()}, argv=["vm", "lab.yaml", "--", "-x", "\u00e9" * 1100], needle="kernel command line")
    add("vm-cmdline-own-kernel", "testbed vm --kernel with an argument list over the limit",
        {"lab.yaml": lab(), "k.img": "not a kernel"},
        argv=["vm", "lab.yaml", "--kernel", "k.img", "--", "-y", "b" * 2100], needle="kernel command line")
    add("vm-cmdline-many-args", "testbed vm with 1,000 short arguments", {"lab.yaml": lab()},
        argv=["vm", "lab.yaml", "--", *(["-q", "1"] * 500)], needle="kernel command line")
    # the guest's address is the lease's: uTNT's options are checked as `probe` checks them
    add("vm-utnt-own-ip", "testbed vm -- --ip overriding the leased address", {"lab.yaml": lab()},
        argv=["vm", "lab.yaml", "--", "--ip", "12.0.0.200/24"], needle="--ip")
    add("vm-utnt-own-mac", "testbed vm -- --mac overriding the leased MAC", {"lab.yaml": lab()},
        argv=["vm", "lab.yaml", "--", "--mac", "02:00:00:00:00:01"], needle="--mac")
    return C
