"""A drop storm: frames from node a to node b whose outer UDP checksum is wrong (a broken
NIC), spread over `flows` inner flows so aggregation and the flow cap both have work.
Runs inside node a's namespace; prints how many frames it sent.

usage: storm.py SRC_UNDERLAY DST_UNDERLAY DST_MAC SRC_VXLAN_MAC DST_VXLAN_MAC INNER_SRC INNER_DST COUNT FLOWS
"""
import socket
import sys

from scapy.all import IP, UDP, VXLAN, Ether, Raw, raw

src, dst, mac, src_vmac, dst_vmac, inner_src, inner_dst = sys.argv[1:8]
count, flows = int(sys.argv[8]), int(sys.argv[9])


def frame(i: int) -> bytes:
    """Flow i % flows; scapy builds one frame per flow, the socket sends them fast."""
    inner = Ether(src=src_vmac, dst=dst_vmac) / IP(src=inner_src, dst=inner_dst, id=i & 0xFFFF) / \
        UDP(sport=20000 + i % flows, dport=5999) / Raw(b"s" * 64)
    pkt = Ether(dst=mac) / IP(src=src, dst=dst) / UDP(sport=41000, dport=4789) / VXLAN(vni=4096) / inner
    good = Ether(raw(pkt))[UDP].chksum
    pkt[UDP].chksum = (good ^ 0x5555) or 1  # wrong and non-zero: the receiver must check and drop
    return raw(pkt)


templates = [frame(i) for i in range(min(flows, count))]
with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
    s.bind(("eth0", 0))
    for i in range(count):
        s.send(templates[i % len(templates)])
print(count)
