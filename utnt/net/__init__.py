"""uTNT's own network stack, like a unikernel's: it needs no host IP configuration.

ports.py   L2 ports: a tap device, a packet socket on an interface, a sim runtime port
stack.py   ARP, IPv4, ICMP echo answers, over one port with its own address and gateway
prober.py  Paris traceroute (icmp-paris, udp-paris) and ping, matching replies to probes by
           flow identifiers and checksums
"""
from .ports import PacketSocketPort, SimPortAdapter, TapPort
from .prober import NetProber, ProbeParams
from .stack import Stack

__all__ = ["TapPort", "PacketSocketPort", "SimPortAdapter", "Stack", "NetProber", "ProbeParams"]
