"""Malformed VXLAN frames for the kfree_skb fuzz test, each with what vxtrace may report of it.

Every frame is a VXLAN packet from node a to node b whose innermost UDP ports identify it
(sport = 1024 + index). One mutation per frame: truncation, lying lengths, IHL < 5, IP options,
fragments, a VLAN tag, VXLAN in VXLAN, a non-IPv4 inner or outer. For each frame the
generator knows whether its identifying flow lies within every bound the packet declares
(frame length, IPv4 total length, UDP length, a first fragment, an IPv4 EtherType): `legit`
flows may be reported (each at most once: a packet is freed once), `hidden` ones never — a
reported hidden flow was read past the packet's end, from stale bytes or from a fragment's
payload.
"""
from __future__ import annotations

import random
import socket
import struct
from dataclasses import dataclass, field

VXLAN_PORT, VNI = 4789, 4096
FIRST_SPORT, DPORT, INNERMOST_DPORT = 1024, 30000, 31000
KINDS = ("whole", "truncated", "outer_tot_len_short", "outer_udp_len_short", "inner_tot_len_short",
         "outer_ihl_lt5", "inner_ihl_lt5", "outer_options", "inner_options", "outer_fragment_later",
         "outer_fragment_first", "inner_fragment_later", "vlan", "vxlan_in_vxlan", "inner_not_ipv4",
         "outer_ipv6")


@dataclass
class Frames:
    frames: list[bytes] = field(default_factory=list)
    legit: dict[tuple, str] = field(default_factory=dict)   # flow -> kind
    hidden: dict[tuple, str] = field(default_factory=dict)  # flow -> kind
    whole: set[tuple] = field(default_factory=set)          # flows that must be reported once


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _ipv4(src: str, dst: str, payload_len: int, ip_id: int, *, options: bytes = b"", ihl: int | None = None,
          tot_len: int | None = None, frag: int = 0) -> bytes:
    hl = 20 + len(options)
    h = struct.pack("!BBHHHBBH4s4s", ((ihl if ihl is not None else hl // 4) & 0xF) | 0x40, 0,
                    tot_len if tot_len is not None else hl + payload_len, ip_id, frag, 64, 17, 0,
                    socket.inet_aton(src), socket.inet_aton(dst)) + options
    return h[:10] + struct.pack("!H", _csum(h)) + h[12:]


def _udp(sport: int, dport: int, payload: bytes, length: int | None = None) -> bytes:
    return struct.pack("!HHHH", sport, dport, length if length is not None else 8 + len(payload), 0) + payload


def _mac(s: str) -> bytes:
    return bytes.fromhex(s.replace(":", ""))


class Builder:
    def __init__(self, a, b, seed: int):
        self.a, self.b = a, b
        self.rng = random.Random(seed)
        self.out = Frames()

    def flow(self, sport: int, dport: int = DPORT) -> tuple:
        return (self.a.pod_ip, self.b.pod_ip, "udp", sport, dport)

    def inner_packet(self, sport: int, *, kind: str) -> tuple[bytes, int]:
        """The inner IPv4/UDP packet and the offset of its ports' end within it."""
        payload = bytes(32)
        udp = _udp(sport, DPORT, payload)
        if kind == "inner_options":
            opts = b"\x01" * (4 * self.rng.randint(1, 10))
            return _ipv4(self.a.pod_ip, self.b.pod_ip, len(udp), sport, options=opts) + udp, 20 + len(opts) + 4
        if kind == "inner_ihl_lt5":
            return _ipv4(self.a.pod_ip, self.b.pod_ip, len(udp), sport, ihl=self.rng.randint(0, 4)) + udp, 1 << 30
        if kind == "inner_tot_len_short":
            tot = self.rng.randint(20, 20 + len(udp) - 1)
            return _ipv4(self.a.pod_ip, self.b.pod_ip, len(udp), sport, tot_len=tot) + udp, (
                24 if tot >= 24 else 1 << 30)
        if kind == "inner_fragment_later":
            frag = self.rng.randint(1, 200) | (self.rng.randint(0, 1) << 13)
            return _ipv4(self.a.pod_ip, self.b.pod_ip, len(udp), sport, frag=frag) + udp, 1 << 30
        return _ipv4(self.a.pod_ip, self.b.pod_ip, len(udp), sport) + udp, 24

    def frame(self, i: int, kind: str) -> None:
        a, b, rng = self.a, self.b, self.rng
        sport = FIRST_SPORT + i
        flow = self.flow(sport)
        inner_type = 0x86DD if kind == "inner_not_ipv4" else 0x0800
        if kind == "vxlan_in_vxlan":
            # The pod drops the middle packet; being UDP to the VXLAN port it is itself a tunnel
            # (from pod a), so vxtrace may name its flow or the innermost one: both are legit.
            innermost = _ipv4(a.pod_ip, b.pod_ip, 40, sport) + _udp(sport, INNERMOST_DPORT, bytes(32))
            mid_payload = (struct.pack("!II", 0x08000000, VNI << 8) + _mac(b.vxlan_mac) + _mac(a.vxlan_mac)
                           + b"\x08\x00" + innermost)
            udp = _udp(sport, VXLAN_PORT, mid_payload)
            inner, ports_end = _ipv4(a.pod_ip, b.pod_ip, len(udp), sport) + udp, 24
            flow = self.flow(sport, VXLAN_PORT)
            self.out.legit[self.flow(sport, INNERMOST_DPORT)] = kind
        else:
            inner, ports_end = self.inner_packet(sport, kind=kind)
        inner_l2 = _mac(b.vxlan_mac) + _mac(a.vxlan_mac) + struct.pack("!H", inner_type)
        vxlan_payload = struct.pack("!II", 0x08000000, VNI << 8) + inner_l2 + inner
        outer_sport = 40000 + i % 20000

        udp_len = None
        if kind == "outer_udp_len_short":
            udp_len = rng.randint(8, 8 + len(vxlan_payload) - 1)
        outer_udp = _udp(outer_sport, VXLAN_PORT, vxlan_payload, udp_len)
        opts, ihl, tot, frag = b"", None, None, 0
        if kind == "outer_options":
            opts = b"\x01" * (4 * rng.randint(1, 10))
        elif kind == "outer_ihl_lt5":
            ihl = rng.randint(0, 4)
        elif kind == "outer_tot_len_short":
            tot = rng.randint(20, 20 + len(outer_udp) - 1)
        elif kind == "outer_fragment_later":
            frag = rng.randint(1, 200) | (rng.randint(0, 1) << 13)
        elif kind == "outer_fragment_first":
            frag = 1 << 13
        outer_ip = _ipv4(a.underlay_ip, b.underlay_ip, len(outer_udp), i & 0xFFFF, options=opts, ihl=ihl,
                         tot_len=tot, frag=frag)
        ethertype = b"\x86\xdd" if kind == "outer_ipv6" else b"\x08\x00"
        l2 = _mac(b.underlay_mac) + _mac(a.underlay_mac)
        if kind == "vlan":
            l2 += b"\x81\x00" + struct.pack("!H", rng.randint(1, 4094))
        l2 += ethertype
        frame = l2 + outer_ip + outer_udp

        # Where the identifying ports end in the frame, and the tightest bound the packet declares.
        inner_off = len(l2) + len(outer_ip) + 8 + 8 + 14
        end = inner_off + ports_end
        bound = len(frame)
        if kind == "truncated":
            bound = rng.randint(14, len(frame) - 1)
            frame = frame[:bound]
        elif kind == "outer_tot_len_short":
            bound = len(l2) + tot
        elif kind == "outer_udp_len_short":
            bound = len(l2) + len(outer_ip) + udp_len
        elif kind in ("outer_ihl_lt5", "outer_fragment_later", "outer_ipv6", "inner_not_ipv4"):
            bound = 0
        (self.out.legit if end <= bound else self.out.hidden)[flow] = kind
        if kind == "whole":
            self.out.whole.add(flow)
        self.out.frames.append(frame)


def build(a, b, per_kind: int, seed: int = 7) -> Frames:
    """`per_kind` frames of every kind, interleaved so each malformed frame follows others."""
    builder = Builder(a, b, seed)
    kinds = [k for k in KINDS for _ in range(per_kind)]
    builder.rng.shuffle(kinds)
    for i, kind in enumerate(kinds):
        builder.frame(i, kind)
    return builder.out


# Run in node a: send the frames (hex, one per line on stdin) out of its underlay device.
SENDER = """
import socket, sys, time
dev, burst, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
frames = [bytes.fromhex(l) for l in sys.stdin.read().split()]
for n, f in enumerate(frames, 1):
    s.send(f)
    if n % burst == 0:
        time.sleep(pause)
print(len(frames))
"""
