#!/usr/bin/python3
"""Send the frames of several pcaps (built by `inject.py --dry-run --pcap`) interleaved and paced.

    paced_send.py --iface eth0 --interval 0.1 --gap 0.003 a.pcap b.pcap@2

Round r sends frame r of every stream due that round (`file@k`: every k-th round), `--gap`
seconds apart, and rounds start `--interval` seconds apart: several streams of drops that
run at once, at a rate a person picks, from one process. inject.py sends its burst in one
call; this is for tests that need drops spread over time (a rule's later packets traced, two
rules dropping in turn). Run it in a lab node's namespace; prints {"sent": N} at the end.
"""
from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import time


def read_pcap(path: str) -> list[bytes]:
    """The frames of a classic pcap file (either byte order), in order."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a pcap file")
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frames.append(data[off:off + incl])
        off += incl
    return frames


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iface", default="eth0")
    p.add_argument("--interval", type=float, default=0.1, help="seconds between rounds' starts")
    p.add_argument("--gap", type=float, default=0.003, help="seconds between a round's frames")
    p.add_argument("streams", nargs="+", metavar="PCAP[@EVERY]")
    a = p.parse_args(argv)
    streams = []
    for s in a.streams:
        path, _, every = s.partition("@")
        streams.append((read_pcap(path), int(every or 1)))
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((a.iface, 0))
    sent, rnd, t0 = 0, 0, time.monotonic()
    while any(rnd // every < len(frames) for frames, every in streams):
        first = True
        for frames, every in streams:
            if rnd % every or rnd // every >= len(frames):
                continue
            if not first:
                time.sleep(a.gap)
            sock.send(frames[rnd // every])
            sent += 1
            first = False
        rnd += 1
        time.sleep(max(0.0, t0 + rnd * a.interval - time.monotonic()))
    sock.close()
    print(json.dumps({"sent": sent}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
