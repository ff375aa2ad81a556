"""The namespace runtime: a lab as real Linux networks on one machine (no Docker, no kernel MPLS).

One network namespace per router and per host (`tb-<name>.<node>`), veth pairs for
point-to-point links, bridges in a per-lab switch namespace for LANs, a tap on every LAN
with a host (the attachment point for probers with their own stack). Hosts are plain Linux;
routers' data plane is the engine of the sim runtime, run by worker processes on packet
sockets. See api.py for the entry points and state.py for the run folder.
"""
from .api import attachment, capture, down, down_all, exec_in, status, up

__all__ = ["up", "down", "down_all", "status", "exec_in", "capture", "attachment"]
