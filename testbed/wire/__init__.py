"""Wire formats shared by the router engine (hot path) and the detector's network stack.

Plain `struct` over bytes/bytearray/memoryview, one protocol per module.  IPv4 addresses are
ints (see ip2int/int2ip), MAC addresses 6-byte `bytes`, label stack entries (label, tc, s, ttl)
tuples, top of stack first.  Parsers raise only WireError (a ValueError); parse_extensions never
raises.  Builders raise ValueError on out-of-range fields.
"""
from .errors import WireError
from .checksum import inet_checksum, ones_sum
from .ethernet import (BROADCAST, ETH_ARP, ETH_HLEN, ETH_IP, ETH_MPLS, bytes2mac, eth_header,
                       mac2bytes, parse_eth)
from .arp import ARP_LEN, ARP_REPLY, ARP_REQUEST, arp_reply, arp_request, parse_arp
from .ipv4 import (IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_HLEN, IPv4Header, int2ip, ip2int,
                   ipv4_header, parse_ipv4, set_ttl)
from .mpls import (EXPLICIT_NULL, IMPLICIT_NULL, IPV6_EXPLICIT_NULL, MAX_STACK, ROUTER_ALERT,
                   encode_stack, lse, parse_lse, parse_stack)
from .udp import UDP_HLEN, UDPHeader, parse_udp, udp_checksum, udp_header
from .icmp import (CLASS_MPLS, CTYPE_MPLS_INCOMING, DEST_UNREACH, ECHO_REPLY, ECHO_REQUEST,
                   ERROR_TYPES, EXT_ORIG_LEN, EXT_TYPES, EXT_VERSION, FRAG_NEEDED,
                   FRAG_REASSEMBLY_EXCEEDED, HOST_UNREACH, ICMP_HLEN, NET_UNREACH, PARAM_PROBLEM,
                   PORT_UNREACH, PROTO_UNREACH, REDIRECT, SOURCE_QUENCH, TIME_EXCEEDED,
                   TTL_EXCEEDED_IN_TRANSIT, IcmpExtensions, IcmpMessage, echo, icmp_error,
                   parse_extensions, parse_icmp)
from .frames import ip_frame, ip_packet, mpls_frame

__all__ = [
    "WireError", "inet_checksum", "ones_sum",
    "BROADCAST", "ETH_ARP", "ETH_HLEN", "ETH_IP", "ETH_MPLS", "bytes2mac", "eth_header", "mac2bytes",
    "parse_eth",
    "ARP_LEN", "ARP_REPLY", "ARP_REQUEST", "arp_reply", "arp_request", "parse_arp",
    "IPPROTO_ICMP", "IPPROTO_TCP", "IPPROTO_UDP", "IPV4_HLEN", "IPv4Header", "int2ip", "ip2int",
    "ipv4_header", "parse_ipv4", "set_ttl",
    "EXPLICIT_NULL", "IMPLICIT_NULL", "IPV6_EXPLICIT_NULL", "MAX_STACK", "ROUTER_ALERT",
    "encode_stack", "lse", "parse_lse", "parse_stack",
    "UDP_HLEN", "UDPHeader", "parse_udp", "udp_checksum", "udp_header",
    "CLASS_MPLS", "CTYPE_MPLS_INCOMING", "DEST_UNREACH", "ECHO_REPLY", "ECHO_REQUEST", "ERROR_TYPES",
    "EXT_ORIG_LEN", "EXT_TYPES", "EXT_VERSION", "FRAG_NEEDED", "FRAG_REASSEMBLY_EXCEEDED",
    "HOST_UNREACH", "ICMP_HLEN", "NET_UNREACH", "PARAM_PROBLEM", "PORT_UNREACH", "PROTO_UNREACH",
    "REDIRECT", "SOURCE_QUENCH", "TIME_EXCEEDED", "TTL_EXCEEDED_IN_TRANSIT", "IcmpExtensions",
    "IcmpMessage", "echo", "icmp_error", "parse_extensions", "parse_icmp",
    "ip_frame", "ip_packet", "mpls_frame",
]
