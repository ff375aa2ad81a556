"""The built-in runtimes, one module each with a `RUNTIME` (testbed/runtimes/registry.py finds them)."""
