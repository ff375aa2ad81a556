"""Runtimes bring a lab to life: `sim` (one process, virtual clock) and `netns` (real namespaces)."""
