"""Exports of a lab for other tools: containerlab (FRR routers on the Linux kernel's MPLS)."""
from .containerlab import (DEFAULT_HOST_IMAGE, DEFAULT_IMAGE, build_containerlab, deploy_containerlab,
                           export_containerlab, validate_clab)

__all__ = ["DEFAULT_IMAGE", "DEFAULT_HOST_IMAGE", "build_containerlab", "export_containerlab", "deploy_containerlab",
           "validate_clab"]
