"""Names of everything a running lab creates, all derived from the instance name.

Namespaces are `tb-<name>.<node>`: lab and node names are `[a-z][a-z0-9_-]*`, so the dot
can never occur inside either and the prefix `tb-<name>.` of one lab is never a prefix of
another lab's namespaces (`tb-a-` would be a prefix of lab `a-b`'s `tb-a-b-r1`). The switch
namespace, holding the lab's LAN bridges and tap attachment points, is `tb-<name>._sw`
(no node name starts with '_'). A router vantage point's prober namespace (scamper and
traceroute run there with the router's loopback address) is `tb-<name>._vp-<router>`.

Interface names inside a node's namespace are the model's (eth0, eth1, ...): unique per
namespace, so veth pairs are created straight into their two namespaces with those names.
Names in the switch namespace (at most 15 characters, the kernel's limit):
  bridge  `br-<lan>` (or `br<k>` when too long), k = index of the link in lab.links
  member  `s<k>p<j>`: the switch side of the veth of the LAN's j-th member
  tap     `tap-<lan>` (or `tap<k>`): the attachment point of a LAN with a host on it
"""
from __future__ import annotations


from testbed.errors import InputError

from testbed.inputs import NAME_RE  # the one name rule, shared with lab files
NS_PREFIX = "tb-"
SWITCH = "_sw"
VP = "_vp-"
RUN_ROOT = "/run/utnt-lab"
IFNAMSIZ = 15


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError(f"'{name}' is not a valid lab instance name: 1-24 characters, a lowercase letter "
                           "then lowercase letters, digits, '-' or '_' (give another with --name)")
    return name


def prefix(name: str) -> str:
    return f"{NS_PREFIX}{name}."


def ns(name: str, node: str) -> str:
    return prefix(name) + node


def switch_ns(name: str) -> str:
    return prefix(name) + SWITCH


def vp_ns(name: str, router: str) -> str:
    return prefix(name) + VP + router


def lab_of_ns(nsname: str) -> str | None:
    """The instance name a namespace belongs to (None: not one of ours)."""
    if not nsname.startswith(NS_PREFIX) or "." not in nsname:
        return None
    lab, _, node = nsname[len(NS_PREFIX):].partition(".")
    if node.startswith(VP):
        node = node[len(VP):]
    if NAME_RE.match(lab) and (node == SWITCH or NAME_RE.match(node)):
        return lab
    return None


def _fit(base: str, long: str, short: str) -> str:
    cand = f"{base}{long}"
    return cand if len(cand) <= IFNAMSIZ else short


def bridge(link_index: int, link_name: str) -> str:
    return _fit("br-", link_name, f"br{link_index}")


def tap(link_index: int, link_name: str) -> str:
    return _fit("tap-", link_name, f"tap{link_index}")


def switch_port(link_index: int, member: int) -> str:
    return f"s{link_index}p{member}"
