"""The vendor-faithful MPLS router engine: frames in on a port, frames out on ports.

One engine, two runtimes: the in-process simulator (testbed.runtimes.sim) and the
namespace runtime (packet sockets) both drive `Router.handle()`.
"""
from .router import Router, compile_node, compile_on_demand

__all__ = ["Router", "compile_node", "compile_on_demand"]
