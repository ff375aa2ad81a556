"""A minimal rtnetlink client: add an IPv4 address and a route in the current namespace.

Enough for a host's configuration, without a subprocess per namespace. A netlink socket
belongs to the namespace it was created in, so create it after entering the namespace.
"""
from __future__ import annotations

import os
import socket
import struct
from ipaddress import IPv4Address, IPv4Interface

NETLINK_ROUTE = 0
RTM_NEWADDR, RTM_NEWROUTE = 20, 24
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY = 1, 4, 5
RT_TABLE_MAIN, RTPROT_STATIC, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 4, 0, 1


def _attr(kind: int, data: bytes) -> bytes:
    n = 4 + len(data)
    return struct.pack("HH", n, kind) + data + b"\0" * ((4 - n % 4) % 4)


class Rtnl:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _request(self, kind: int, body: bytes, what: str):
        self.seq += 1
        flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
        self.sock.send(struct.pack("IHHII", 16 + len(body), kind, flags, self.seq, 0) + body)
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                ln, typ, _, seq, _ = struct.unpack_from("IHHII", data, off)
                if typ == NLMSG_ERROR and seq == self.seq:
                    err, = struct.unpack_from("i", data, off + 16)
                    if err:
                        raise OSError(-err, f"{what}: {os.strerror(-err)}")
                    return
                off += (ln + 3) & ~3

    def add_address(self, ifname: str, address: IPv4Interface):
        idx = socket.if_nametoindex(ifname)
        body = struct.pack("BBBBI", socket.AF_INET, address.network.prefixlen, 0, 0, idx)
        body += _attr(IFA_LOCAL, address.ip.packed) + _attr(IFA_ADDRESS, address.ip.packed)
        self._request(RTM_NEWADDR, body, f"address {address} on {ifname}")

    def add_default_route(self, gateway: IPv4Address, ifname: str):
        idx = socket.if_nametoindex(ifname)
        body = struct.pack("BBBBBBBBI", socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_STATIC,
                           RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
        body += _attr(RTA_GATEWAY, IPv4Address(str(gateway)).packed) + _attr(RTA_OIF, struct.pack("I", idx))
        self._request(RTM_NEWROUTE, body, f"default route via {gateway}")
