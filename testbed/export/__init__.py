"""Exports of a lab for other tools: containerlab (FRR routers on the Linux kernel's MPLS).

The exporters load on first use (`testbed.export.build_containerlab` ...), so that the
command line's parser, which reads only the defaults, starts without the lab model."""
from .defaults import DEFAULT_HOST_IMAGE, DEFAULT_IMAGE

__all__ = ["DEFAULT_IMAGE", "DEFAULT_HOST_IMAGE", "build_containerlab", "export_containerlab", "export_split", "deploy_containerlab",
           "validate_clab"]


def __getattr__(name):
    if name in __all__:
        from . import containerlab
        return getattr(containerlab, name)
    raise AttributeError(f"module 'testbed.export' has no attribute {name!r}")
