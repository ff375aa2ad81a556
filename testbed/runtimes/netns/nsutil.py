"""Small Linux primitives without a subprocess: enter a namespace, write its sysctls, set
links up, turn offloads off, query processes. Python 3.11 has no os.setns, so libc's is
called through ctypes. Failures raise OSError naming the interface and what failed.

setns(CLONE_NEWNET) changes the calling thread's namespace only; sockets keep the namespace
they were created in, and /proc/sys/net/* resolves against the opener's namespace.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import socket
import struct
from contextlib import contextmanager

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
SIOCGIFFLAGS, SIOCSIFFLAGS = 0x8913, 0x8914
SIOCETHTOOL = 0x8946
IFF_UP = 0x1
# legacy ethtool_value commands (get, set): segmentation, receive and TX checksum offloads
# (TX checksum off, or UDP leaves a host with a partial checksum)
OFFLOADS = (("tso", 0x1E, 0x1F), ("gso", 0x23, 0x24), ("gro", 0x2B, 0x2C), ("tx-checksum", 0x16, 0x17))
log = logging.getLogger(__name__)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)


def setns(fd: int, nstype: int = CLONE_NEWNET):
    if _libc.setns(fd, nstype) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setns: {os.strerror(e)}")


def ns_path(nsname: str) -> str:
    return os.path.join(NETNS_DIR, nsname)


def list_netns() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def ns_inode(nsname: str) -> int | None:
    """Inode of a named namespace (the nsfs inode behind the bind mount), None if absent."""
    try:
        st = os.stat(ns_path(nsname))
    except OSError:
        return None
    return st.st_ino


@contextmanager
def netns(nsname: str):
    """Run the body in namespace nsname (this thread only), then come back."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        fd = os.open(ns_path(nsname), os.O_RDONLY)
        try:
            setns(fd)
        finally:
            os.close(fd)
        try:
            yield
        finally:
            setns(home)
    finally:
        os.close(home)


class NsWalker:
    """Enter many namespaces one after the other, and always return home."""

    def __init__(self):
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)

    def enter(self, nsname: str):
        fd = os.open(ns_path(nsname), os.O_RDONLY)
        try:
            setns(fd)
        finally:
            os.close(fd)

    def close(self):
        if self.home is not None:
            setns(self.home)
            os.close(self.home)
            self.home = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_sysctl(key: str, value) -> None:
    """Write net.* sysctl `key` (dotted) in the current thread's namespace."""
    path = "/proc/sys/" + key.replace(".", "/")
    with open(path, "w") as f:
        f.write(f"{value}\n")


def read_sysctl(key: str) -> str:
    with open("/proc/sys/" + key.replace(".", "/")) as f:
        return f.read().strip()


def _ifreq_flags(sock, ifname: str) -> int:
    r = fcntl.ioctl(sock, SIOCGIFFLAGS, struct.pack("16sH14x", ifname.encode(), 0))
    return struct.unpack_from("16sH", r)[1]


def set_up(ifnames, sock=None):
    """Set interfaces up (in the current thread's namespace); OSError naming the interface
    if one is missing or refuses (a lab with an interface down would drop frames silently)."""
    own = sock is None
    s = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for ifname in ifnames:
            try:
                flags = _ifreq_flags(s, ifname)
                if not flags & IFF_UP:
                    fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", ifname.encode(), flags | IFF_UP))
            except OSError as e:
                raise OSError(e.errno, f"setting {ifname} up: {os.strerror(e.errno)}") from None
    finally:
        if own:
            s.close()


def _ifreq_flags_of(ifname: str) -> int:
    """The interface flags of ifname (IFF_UP ...), in the current thread's namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        return _ifreq_flags(s, ifname)


def offloads(ifname: str) -> dict[str, int]:
    """{offload: 0 or 1} of ifname as the kernel reports it (the ioctl `ethtool -k` uses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        return {what: _ethtool(s, ifname, get) for what, get, _ in OFFLOADS}


def _ethtool(sock, ifname: str, cmd: int, value: int = 0) -> int:
    buf = ctypes.create_string_buffer(struct.pack("II", cmd, value))
    fcntl.ioctl(sock, SIOCETHTOOL, struct.pack("16sP", ifname.encode(), ctypes.addressof(buf)))
    return struct.unpack("II", buf.raw[:8])[1]


def disable_offloads(ifname: str, sock=None):
    """TSO/GSO/GRO off, so a Linux host hands the engine real frames (never 64 KiB super-frames
    that a packet socket could not send on again); TX checksum offload off, so a host's UDP
    probes carry a finished checksum (with it, veth hands the engine a partial one, which
    the engine forwards as is and the destination drops: no port unreachable, ever).
    A refused switch is ignored only when the offload is off anyway, or the device has no
    such offload at all (its get fails with EOPNOTSUPP): then nothing is left to turn off
    (logged at debug level). Otherwise OSError names the interface and the offload: a lab
    running with it would lose frames or checksums in ways no error shows."""
    own = sock is None
    s = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for what, get, set_ in OFFLOADS:
            try:
                _ethtool(s, ifname, set_, 0)
                continue
            except OSError as e:
                refused = e
            try:
                on = _ethtool(s, ifname, get)
            except OSError as e:
                if e.errno != errno.EOPNOTSUPP:
                    raise OSError(e.errno, f"reading {what} offload of {ifname}: {os.strerror(e.errno)}") from None
                on = 0
            if on:
                raise OSError(refused.errno, f"turning {what} offload off on {ifname}: "
                              f"{os.strerror(refused.errno)}") from None
            log.debug("%s: %s offload cannot be switched (%s) but is off: nothing to do", ifname, what,
                      os.strerror(refused.errno))
    finally:
        if own:
            s.close()


# ---------------------------------------------------------------- processes
def _stat_fields(pid) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name ([0] state, [1] ppid, [3] session,
    [19] start time); None if there is no such process or it is a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(b")") + 2:].split()
    return None if rest[0] in (b"Z", b"X") else rest


def live_processes():
    """(pid, _stat_fields) of every live process: one /proc scan."""
    for d in os.listdir("/proc"):
        if d.isdigit():
            rest = _stat_fields(d)
            if rest is not None:
                yield int(d), rest


def proc_start_time(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat); None if
    there is no such process or it is a zombie."""
    rest = _stat_fields(pid)
    return None if rest is None else int(rest[19])


def proc_cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def same_process(pid: int, start_time: int | None, marker: str | None = None) -> bool:
    """True if pid is alive and is the process recorded (same start time, cmdline marker)."""
    if not pid or pid <= 1:
        return False
    st = proc_start_time(pid)
    if st is None or (start_time is not None and st != start_time):
        return False
    if marker is not None and not any(marker in a for a in proc_cmdline(pid)):
        return False
    return True


def reap(pid: int):
    """Collect pid's exit status if it is our child (no zombie left behind)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    except OSError:
        pass


def group_members(leader: int, not_before: int | None = None, ns_inode: int | None = None) -> list[int]:
    """Live processes in the process group or session `leader` started (a detector and every
    process it forked, the leader itself included while it lives), started no earlier than
    `not_before` (clock ticks) and, when given, in the network namespace `ns_inode`: the
    kernel hands out no PID that is still a group or session id, and the two checks keep a
    later group that happens to reuse the number out."""
    out = []
    for pid, rest in live_processes():
        if pid <= 1 or pid == os.getpid() or (int(rest[2]) != leader and int(rest[3]) != leader):
            continue
        if not_before is not None and int(rest[19]) < not_before:
            continue
        if ns_inode is not None:
            try:
                if os.stat(f"/proc/{pid}/ns/net").st_ino != ns_inode:
                    continue
            except OSError:
                continue
        out.append(pid)
    return out


def processes_in(ns_inodes: set[int]) -> list[int]:
    """PIDs of processes whose network namespace is one of ns_inodes."""
    out = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            ino = os.stat(f"/proc/{d}/ns/net").st_ino
        except OSError:
            continue
        if ino in ns_inodes:
            out.append(int(d))
    return out


PR_SET_PDEATHSIG = 1
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)


def tie_to_parent(sig: int = 15):
    """A preexec_fn for a child that must not outlive this process (uTNT, tcpdump): the kernel
    sends it `sig` (SIGTERM) when the thread that forked it dies, also by SIGKILL; the flag
    survives exec (it is cleared only for set-uid programs)."""
    parent = os.getpid()

    def preexec():
        _libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:       # the parent died between fork and prctl
            os._exit(1)
    return preexec
