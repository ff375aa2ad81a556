"""Runtimes bring a lab to life: `sim` (one process, virtual clock), `netns` (real namespaces, the
engine in worker processes), `mininet` (the same lab as a Mininet network), `qemu` (detectors in
micro-VMs on a lab's tap) and `container` (the engine as one process per router, as in a container)."""
