"""Runtimes bring a lab to life: `sim` (one process, virtual clock), `netns` (real namespaces, the
engine in worker processes), `mininet` (the same lab as a Mininet network), `qemu` (detectors in
micro-VMs on a lab's tap) and `container` (the engine as one process per router, as in a container).

Every runtime that brings up lab instances is one `Runtime` (base.py: up, down, status, attach
a vantage point, run commands), found by name in registry.py; the built-ins are the modules
of builtin/ (sim, netns, mininet), each a thin face over its package here."""
