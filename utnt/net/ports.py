"""L2 ports: send and receive whole Ethernet frames. The same probe code runs on all three."""
from __future__ import annotations

import fcntl
import os
import select
import socket
import struct
import time
from typing import Any, Protocol

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


class Port(Protocol):
    """What the stack needs of a port (the three below)."""
    name: str

    def clock(self) -> float: ...
    def send(self, frame: bytes) -> None: ...
    def recv(self, timeout: float) -> list[bytes]: ...
    def close(self) -> None: ...


class _RealPort:
    fd: int

    def _read_nowait(self) -> bytes | None:
        raise NotImplementedError

    def clock(self) -> float:
        return time.monotonic()

    def recv(self, timeout: float) -> list[bytes]:
        """Frames received within timeout seconds (returns as soon as some arrive)."""
        out: list[bytes] = []
        r, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not r:
            return out
        while True:
            f = self._read_nowait()
            if f is None:
                break
            if f:
                out.append(f)
        return out


class TapPort(_RealPort):
    """A tap device (IFF_TAP | IFF_NO_PI), opened in the caller's network namespace."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        try:
            fcntl.ioctl(self.fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
        except OSError as e:
            os.close(self.fd)
            raise OSError(f"cannot attach to tap {name}: {e.strerror} (does it exist in this namespace?)") from None

    def send(self, frame: bytes) -> None:
        os.write(self.fd, frame)

    def _read_nowait(self) -> bytes | None:
        try:
            return os.read(self.fd, 65536)
        except BlockingIOError:
            return None

    def close(self) -> None:
        os.close(self.fd)


class PacketSocketPort(_RealPort):
    """An AF_PACKET socket on an interface (frames we send ourselves are filtered out)."""

    def __init__(self, ifname: str) -> None:
        self.name = ifname
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((ifname, 0))
        self.sock.setblocking(False)
        self.fd = self.sock.fileno()

    def send(self, frame: bytes) -> None:
        self.sock.send(frame)

    def _read_nowait(self) -> bytes | None:
        try:
            data, addr = self.sock.recvfrom(65536)
        except BlockingIOError:
            return None
        return b"" if addr[2] == PACKET_OUTGOING else data

    def close(self) -> None:
        self.sock.close()


class SimPortAdapter:
    """A port of the in-process sim runtime: time is the simulation's virtual clock."""

    def __init__(self, sim_port: Any) -> None:      # the sim runtime's port (utnt imports nothing from testbed)
        self.p = sim_port
        self.name = f"sim:{sim_port.host}"

    def clock(self) -> float:
        now: float = self.p.now
        return now

    def send(self, frame: bytes) -> None:
        self.p.send(frame)

    def recv(self, timeout: float) -> list[bytes]:
        got: list[bytes] = self.p.recv_all()
        if got:
            return got
        self.p.run(timeout, until_delivery=True)
        got = self.p.recv_all()
        return got

    def close(self) -> None:
        pass
