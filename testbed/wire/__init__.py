"""The testbed's one codec: wire formats the router engine's slow paths build with (ICMP errors with
RFC 4884/4950 objects, echo replies, ARP, IPv4 packets, label stacks) and its hot paths are tested
against (tests/test_engine_hotpath.py). uTNT has its own (utnt/net/wire.py); each is checked against
scapy and tcpdump (tests/test_wire.py, tests/test_codec_differential.py), never against the other.

Plain `struct` over bytes/bytearray/memoryview, one protocol per module.  IPv4 addresses are
ints (`int(IPv4Address(s))`), MAC addresses 6-byte `bytes`, label stack entries (label, tc, s, ttl)
tuples, top of stack first.  Parsers raise only WireError (a ValueError); parse_extensions never
raises.  Builders raise ValueError on out-of-range fields.
"""
from .errors import WireError
from .checksum import inet_checksum, ones_sum
from .ethernet import BROADCAST, ETH_ARP, ETH_HLEN, ETH_IP, ETH_IP6, ETH_MPLS, eth_header, parse_eth
from .arp import ARP_LEN, ARP_REPLY, ARP_REQUEST, arp_reply, arp_request, parse_arp
from .ipv4 import IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_HLEN, IPv4Header, ipv4_header, parse_ipv4, set_ttl
from .mpls import (EXPLICIT_NULL, IMPLICIT_NULL, IPV6_EXPLICIT_NULL, MAX_STACK, ROUTER_ALERT,
                   encode_stack, lse, parse_stack)
from .udp import UDP_HLEN, udp_header
from .icmp import (CLASS_MPLS, CTYPE_MPLS_INCOMING, DEST_UNREACH, ECHO_REPLY, ECHO_REQUEST,
                   ERROR_TYPES, EXT_ORIG_LEN, EXT_TYPES, EXT_VERSION, FRAG_NEEDED,
                   FRAG_REASSEMBLY_EXCEEDED, HOST_UNREACH, ICMP_HLEN, NET_UNREACH, PARAM_PROBLEM,
                   PORT_UNREACH, PROTO_UNREACH, REDIRECT, SOURCE_QUENCH, TIME_EXCEEDED,
                   TTL_EXCEEDED_IN_TRANSIT, IcmpExtensions, IcmpMessage, echo, icmp_error,
                   parse_extensions, parse_icmp)
from .frames import ip_frame, ip_packet, mpls_frame
from .ipv6 import (IPV6_HLEN, NH_ICMPV6, NH_UDP, IPv6Header, ipv6_header, ipv6_packet, mapped, parse_ipv6,
                   pseudo_sum, set_hlim, unmapped)
from .icmpv6 import (DEST_UNREACH6, ECHO_REPLY6, ECHO_REQUEST6, ERROR_TYPES6, HOP_LIMIT_EXCEEDED,
                     NEIGHBOR_ADVERT, NEIGHBOR_SOLICIT, PORT_UNREACH6, TIME_EXCEEDED6, Icmp6Message, echo6,
                     icmp6_checksum, icmp6_error, multicast_mac, neighbor_advert, neighbor_solicit,
                     parse_icmp6, parse_nd, solicited_node)

__all__ = [
    "WireError", "inet_checksum", "ones_sum",
    "BROADCAST", "ETH_ARP", "ETH_HLEN", "ETH_IP", "ETH_MPLS", "eth_header", "parse_eth",
    "ARP_LEN", "ARP_REPLY", "ARP_REQUEST", "arp_reply", "arp_request", "parse_arp",
    "IPPROTO_ICMP", "IPPROTO_TCP", "IPPROTO_UDP", "IPV4_HLEN", "IPv4Header", "ipv4_header", "parse_ipv4",
    "set_ttl",
    "EXPLICIT_NULL", "IMPLICIT_NULL", "IPV6_EXPLICIT_NULL", "MAX_STACK", "ROUTER_ALERT",
    "encode_stack", "lse", "parse_stack",
    "UDP_HLEN", "udp_header",
    "CLASS_MPLS", "CTYPE_MPLS_INCOMING", "DEST_UNREACH", "ECHO_REPLY", "ECHO_REQUEST", "ERROR_TYPES",
    "EXT_ORIG_LEN", "EXT_TYPES", "EXT_VERSION", "FRAG_NEEDED", "FRAG_REASSEMBLY_EXCEEDED",
    "HOST_UNREACH", "ICMP_HLEN", "NET_UNREACH", "PARAM_PROBLEM", "PORT_UNREACH", "PROTO_UNREACH",
    "REDIRECT", "SOURCE_QUENCH", "TIME_EXCEEDED", "TTL_EXCEEDED_IN_TRANSIT", "IcmpExtensions",
    "IcmpMessage", "echo", "icmp_error", "parse_extensions", "parse_icmp",
    "ip_frame", "ip_packet", "mpls_frame",
    "ETH_IP6", "IPV6_HLEN", "NH_ICMPV6", "NH_UDP", "IPv6Header", "ipv6_header", "ipv6_packet", "mapped",
    "parse_ipv6", "pseudo_sum", "set_hlim", "unmapped",
    "DEST_UNREACH6", "ECHO_REPLY6", "ECHO_REQUEST6", "ERROR_TYPES6", "HOP_LIMIT_EXCEEDED", "NEIGHBOR_ADVERT",
    "NEIGHBOR_SOLICIT", "PORT_UNREACH6", "TIME_EXCEEDED6", "Icmp6Message", "echo6", "icmp6_checksum",
    "icmp6_error", "multicast_mac", "neighbor_advert", "neighbor_solicit", "parse_icmp6", "parse_nd",
    "solicited_node",
]
