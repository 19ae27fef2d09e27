#!/usr/bin/python3
"""Emit raw VXLAN frames out of a node's underlay NIC, the way a buggy NIC would.

Run it inside a lab node namespace, e.g.

    ip netns exec vxt1a2b-a /usr/bin/python3 lab/inject.py \
        --dst-underlay 192.0.2.2 --dst-vxlan-mac 02:76:78:00:00:02 \
        --inner-src 10.244.1.10 --inner-dst 10.244.2.10 --count 1000 --bad-outer-csum 37

Why raw frames: the kernel's own VXLAN transmit path always produces correct
checksums, so the checksum-offload bugs vxtrace must attribute can only be
reproduced by writing the bytes ourselves. Every frame is built in full
(outer Ether/IPv4/UDP/VXLAN + inner Ether/IPv4/L4/payload), checksums are
patched afterwards where a fault is requested, and the whole list goes out in
one sendp() call so a 1000-frame burst takes well under a second.

The last line on stdout is a JSON summary of exactly what was sent (counts,
5-tuple, IP IDs, which frames were corrupted) so tests can match drops to
packets.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from scapy.all import ICMP, IP, TCP, UDP, VXLAN, Ether, Raw, conf, get_if_addr, sendp, wrpcap
from scapy.utils import checksum

ETH_LEN, IP_LEN, UDP_LEN, VXLAN_LEN = 14, 20, 8, 8
OUTER_HDR_LEN = ETH_LEN + IP_LEN + UDP_LEN + VXLAN_LEN
OUTER_UDP_CSUM_OFF = ETH_LEN + IP_LEN + 6           # checksum field of the outer UDP header
INNER_L3_OFF = ETH_LEN                              # offsets inside the inner frame
INNER_L4_OFF = ETH_LEN + IP_LEN
BAD_KINDS = ("random", "ffff", "zero", "pseudo")
L4_CSUM_FIELD = {"tcp": 16, "udp": 6, "icmp": 2}    # checksum offset inside each L4 header
L4_HDR_LEN = {"tcp": 20, "udp": 8, "icmp": 8}
OUTER_SPORT_RANGE = (32768, 60999)                  # what Linux vxlan uses (ip_local_port_range)
UNDERLAY_MTU = 1500


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iface", default="eth0", help="underlay NIC to send on")
    p.add_argument("--vxlan-dev", default="vxlan.calico", help="local VXLAN device (source of the inner MAC)")
    p.add_argument("--src-underlay", help="outer source IP (default: address of --iface)")
    p.add_argument("--dst-underlay", required=True, help="peer node underlay IP (outer destination)")
    p.add_argument("--peer-mac", help="peer underlay MAC (default: ARP for --dst-underlay)")
    p.add_argument("--src-vxlan-mac", help="inner source MAC (default: MAC of --vxlan-dev)")
    p.add_argument("--dst-vxlan-mac", required=True, help="peer vxlan device MAC (inner destination)")
    p.add_argument("--vni", type=int, default=4096)
    p.add_argument("--vxlan-flags", type=lambda s: int(s, 0), default=0x08, help="VXLAN flags byte (0x08 = VNI valid)")
    p.add_argument("--port", type=int, default=4789, help="outer UDP destination port")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--bad-outer-csum", type=int, default=0, metavar="K",
                   help="exactly K frames get a wrong, non-zero outer UDP checksum")
    p.add_argument("--outer-csum", choices=("good", "zero"), default="good",
                   help="outer UDP checksum of the other frames")
    p.add_argument("--bad-inner-csum", action="store_true", help="corrupt the inner L4 checksum of every frame")
    p.add_argument("--bad-csum-kind", choices=BAD_KINDS, default="random",
                   help="what a bad checksum looks like: random corruption, 0xffff, zero, or only the "
                        "pseudo-header sum (a CHECKSUM_PARTIAL packet whose offload never filled it in)")
    p.add_argument("--inner-src", required=True)
    p.add_argument("--inner-dst", required=True)
    p.add_argument("--proto", choices=("tcp", "udp", "icmp"), default="udp")
    p.add_argument("--sport", type=int, default=40000, help="inner source port (ICMP: echo id)")
    p.add_argument("--dport", type=int, default=5000, help="inner destination port")
    p.add_argument("--tcp-flags", default="PA", help="scapy flag string, e.g. S, PA, SF")
    p.add_argument("--tcp-seq", type=int, default=1000)
    p.add_argument("--payload-len", type=int, default=512, help="inner L4 payload bytes")
    p.add_argument("--ip-id", type=int, help="inner IP ID of the first frame; +1 per frame (default: from seed)")
    p.add_argument("--ttl", type=int, default=64)
    p.add_argument("--seed", type=int, default=1, help="makes bad-frame choice, ports and IDs reproducible")
    p.add_argument("--dry-run", action="store_true", help="build and summarise, send nothing")
    p.add_argument("--pcap", help="also write the frames to this pcap file")
    args = p.parse_args(argv)
    validate(p, args)
    return args


def validate(p: argparse.ArgumentParser, a: argparse.Namespace) -> None:
    """Reject requests that would silently produce something else than asked."""
    if a.count < 1:
        p.error("--count must be >= 1")
    if not 0 <= a.bad_outer_csum <= a.count:
        p.error("--bad-outer-csum must be between 0 and --count")
    if a.bad_csum_kind == "zero" and (a.bad_outer_csum or a.proto != "tcp"):
        p.error("--bad-csum-kind zero: a zero UDP checksum means 'none' (not a drop); use it on inner TCP")
    if not 0 <= a.vni < 1 << 24:
        p.error("--vni out of range")
    inner_ip_len = IP_LEN + L4_HDR_LEN[a.proto] + a.payload_len
    max_inner = UNDERLAY_MTU - IP_LEN - UDP_LEN - VXLAN_LEN - ETH_LEN   # 1450: the vxlan.calico MTU
    if a.payload_len < 0 or inner_ip_len > max_inner:
        p.error(f"--payload-len gives an inner packet of {inner_ip_len} bytes; max is {max_inner}")


def read_sysfs_mac(dev: str) -> str:
    """Local MAC of dev; sysfs reflects the current netns under `ip netns exec`."""
    return Path(f"/sys/class/net/{dev}/address").read_text().strip()


def resolve_peer_mac(ip: str, iface: str) -> str:
    """ARP for the peer inside this namespace's underlay (only used if --peer-mac is not given)."""
    from scapy.layers.l2 import getmacbyip
    conf.iface = iface
    mac = getmacbyip(ip)
    if not mac:
        raise SystemExit(f"inject: cannot resolve MAC of {ip} on {iface}")
    return mac


def payload_bytes(n: int) -> bytes:
    """Recognisable, deterministic payload (easy to spot in a pcap)."""
    pattern = b"vxtrace-lab-payload-"
    return (pattern * (n // len(pattern) + 1))[:n]


def l4_layer(a: argparse.Namespace):
    """Inner L4 header of the first frame; later frames are patched from it."""
    if a.proto == "tcp":
        return TCP(sport=a.sport, dport=a.dport, flags=a.tcp_flags, seq=a.tcp_seq, ack=1, window=64240)
    if a.proto == "udp":
        return UDP(sport=a.sport, dport=a.dport)
    return ICMP(type=8, id=a.sport, seq=0)


def build_templates(a: argparse.Namespace) -> tuple[bytes, bytes]:
    """Outer headers and inner frame of frame 0, laid out by scapy.

    Why templates: building 1000 six-layer packets with scapy takes seconds;
    patching a few fields and recomputing checksums by hand takes milliseconds.
    """
    inner = bytes(Ether(src=a.src_vxlan_mac, dst=a.dst_vxlan_mac)
                  / IP(src=a.inner_src, dst=a.inner_dst, id=0, ttl=a.ttl)
                  / l4_layer(a) / Raw(payload_bytes(a.payload_len)))
    outer = bytes(Ether(src=a.src_mac, dst=a.peer_mac)
                  / IP(src=a.src_underlay, dst=a.dst_underlay, id=0, ttl=64, flags="DF")
                  / UDP(sport=0, dport=a.port, chksum=0)
                  / VXLAN(flags=a.vxlan_flags, vni=a.vni)
                  / Raw(inner))
    return outer[:OUTER_HDR_LEN], inner


def put16(buf: bytearray, off: int, value: int) -> None:
    buf[off:off + 2] = (value & 0xFFFF).to_bytes(2, "big")


def set_ipv4_id(buf: bytearray, l3: int, ip_id: int) -> None:
    """Set the IPv4 ID at offset l3 and recompute the header checksum."""
    put16(buf, l3 + 4, ip_id)
    put16(buf, l3 + 10, 0)
    put16(buf, l3 + 10, checksum(bytes(buf[l3:l3 + IP_LEN])))


def l4_checksum(buf: bytearray, l3: int, proto_num: int, csum_off: int, pseudo: bool) -> int:
    """RFC 1071 checksum of the L4 segment at l3+20 (with IPv4 pseudo-header if pseudo)."""
    seg = bytearray(buf[l3 + IP_LEN:])
    put16(seg, csum_off, 0)
    head = bytes(buf[l3 + 12:l3 + 20]) + bytes((0, proto_num)) + len(seg).to_bytes(2, "big") if pseudo else b""
    value = checksum(head + bytes(seg))
    return (value or 0xFFFF) if proto_num == 17 else value


def corrupt(value: int, avoid: tuple[int, ...]) -> int:
    """A checksum that is wrong, non-zero and not 0xffff (0 means 'no checksum' for UDP)."""
    for mask in (0x5A5A, 0x0F0F, 0x1234, 0x00FF):
        bad = value ^ mask
        if bad not in (0, 0xFFFF) + avoid:
            return bad
    raise AssertionError("unreachable")


def pseudo_header_sum(buf: bytearray, l3: int, proto_num: int) -> int:
    """What Linux leaves in the checksum field of a CHECKSUM_PARTIAL packet for the NIC to
    finish: the folded pseudo-header sum, not complemented (~csum_tcpudp_magic(..., 0))."""
    seg_len = len(buf) - l3 - IP_LEN
    words = bytes(buf[l3 + 12:l3 + 20]) + bytes((0, proto_num)) + seg_len.to_bytes(2, "big")
    total = sum(int.from_bytes(words[i:i + 2], "big") for i in range(0, len(words), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def bad_checksum(kind: str, good: int, buf: bytearray, l3: int, proto_num: int) -> int:
    """A wrong checksum of the asked kind; never the right one, whatever the packet."""
    bad = {"random": lambda: corrupt(good, (good,)), "ffff": lambda: 0xFFFF, "zero": lambda: 0,
           "pseudo": lambda: pseudo_header_sum(buf, l3, proto_num)}[kind]()
    if bad == good:
        raise SystemExit(f"inject: a {kind} checksum happens to be right here (0x{good:04x}); "
                         "use another --seed")
    return bad


def inner_frame(a: argparse.Namespace, template: bytes, index: int, ip_id: int) -> bytes:
    """Frame `index`: its IP ID and TCP seq / ICMP seq set, checksums right (or L4 broken)."""
    buf = bytearray(template)
    set_ipv4_id(buf, INNER_L3_OFF, ip_id)
    l4 = INNER_L4_OFF
    if a.proto == "tcp":
        buf[l4 + 4:l4 + 8] = ((a.tcp_seq + index * a.payload_len) & 0xFFFFFFFF).to_bytes(4, "big")
    elif a.proto == "icmp":
        put16(buf, l4 + 6, index)
    proto_num = {"tcp": 6, "udp": 17, "icmp": 1}[a.proto]
    csum_off = L4_CSUM_FIELD[a.proto]
    good = l4_checksum(buf, INNER_L3_OFF, proto_num, csum_off, pseudo=a.proto != "icmp")
    bad = a.bad_inner_csum and bad_checksum(a.bad_csum_kind, good, buf, INNER_L3_OFF, proto_num)
    put16(buf, l4 + csum_off, bad if a.bad_inner_csum else good)
    return bytes(buf)


def outer_frame(a: argparse.Namespace, header: bytes, inner: bytes, sport: int, outer_id: int,
                bad: bool) -> bytes:
    """Encapsulate `inner`; outer UDP checksum good, zero, or deliberately wrong."""
    buf = bytearray(header + inner)
    set_ipv4_id(buf, ETH_LEN, outer_id)
    put16(buf, ETH_LEN + IP_LEN, sport)
    good = l4_checksum(buf, ETH_LEN, 17, 6, pseudo=True)
    if bad:
        value = bad_checksum(a.bad_csum_kind, good, buf, ETH_LEN, 17)
    else:
        value = good if a.outer_csum == "good" else 0
    put16(buf, OUTER_UDP_CSUM_OFF, value)
    return bytes(buf)


def build_frames(a: argparse.Namespace) -> tuple[list[bytes], dict]:
    """All frames plus the facts a test needs to recognise them again."""
    rng = random.Random(a.seed)
    bad_idx = sorted(rng.sample(range(a.count), a.bad_outer_csum))
    bad_set = set(bad_idx)
    first_id = a.ip_id if a.ip_id is not None else rng.randrange(1, 0x8000)
    sports = [rng.randint(*OUTER_SPORT_RANGE) for _ in range(a.count)]
    header, inner_template = build_templates(a)
    frames, ids = [], []
    for i in range(a.count):
        ip_id = (first_id + i) & 0xFFFF
        ids.append(ip_id)
        inner = inner_frame(a, inner_template, i, ip_id)
        frames.append(outer_frame(a, header, inner, sports[i], (first_id * 7 + i) & 0xFFFF, i in bad_set))
    facts = {
        "bad_outer_idx": bad_idx,
        "bad_outer_ip_ids": [ids[i] for i in bad_idx],
        "ip_id_first": ids[0],
        "ip_id_last": ids[-1],
        "outer_sport_min": min(sports),
        "outer_sport_max": max(sports),
        "frame_len": len(frames[0]),
    }
    return frames, facts


def summary(a: argparse.Namespace, facts: dict) -> dict:
    """One-line JSON description of the burst (what vxtrace should later report)."""
    return {
        "sent": 0 if a.dry_run else a.count,
        "count": a.count,
        "bad_outer_csum": a.bad_outer_csum,
        "good_outer_csum": a.count - a.bad_outer_csum,
        "outer_csum": a.outer_csum,
        "bad_inner_csum": a.bad_inner_csum,
        "bad_csum_kind": a.bad_csum_kind,
        "outer": {"src": a.src_underlay, "dst": a.dst_underlay, "dport": a.port,
                  "src_mac": a.src_mac, "dst_mac": a.peer_mac,
                  "sport_min": facts["outer_sport_min"], "sport_max": facts["outer_sport_max"]},
        "vni": a.vni,
        "vxlan_flags": a.vxlan_flags,
        "inner": {"src": a.inner_src, "dst": a.inner_dst, "proto": a.proto,
                  "sport": a.sport, "dport": a.dport,
                  "tcp_flags": a.tcp_flags if a.proto == "tcp" else None,
                  "src_mac": a.src_vxlan_mac, "dst_mac": a.dst_vxlan_mac},
        "payload_len": a.payload_len,
        "frame_len": facts["frame_len"],
        "ip_id_first": facts["ip_id_first"],
        "ip_id_last": facts["ip_id_last"],
        "bad_outer_idx": facts["bad_outer_idx"],
        "bad_outer_ip_ids": facts["bad_outer_ip_ids"],
        "seed": a.seed,
    }


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    a.src_underlay = a.src_underlay or get_if_addr(a.iface)
    a.src_mac = read_sysfs_mac(a.iface)
    a.src_vxlan_mac = a.src_vxlan_mac or read_sysfs_mac(a.vxlan_dev)
    a.peer_mac = a.peer_mac or resolve_peer_mac(a.dst_underlay, a.iface)
    frames, facts = build_frames(a)
    if a.pcap:
        wrpcap(a.pcap, [Ether(f) for f in frames])
    if not a.dry_run:
        # One call, one socket: Raw() keeps our patched bytes exactly as built.
        sendp([Raw(f) for f in frames], iface=a.iface, verbose=False)
    print(json.dumps(summary(a, facts), separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
