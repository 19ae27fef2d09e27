#!/usr/bin/python3
"""A pod-side server that really reads, started by the lab inside a pod namespace.

Why it exists: several drops only happen when a socket is there and reads.
A TCP segment to a closed port is answered with RST instead of checksum
checking; a long UDP datagram's checksum is only verified when the
application calls recvmsg() (so the drop happens in this process's context,
not in softirq). The server therefore binds, prints READY, and keeps reading
until SIGTERM, then prints one JSON line with what it received.

    listener.py udp 5000      # recvfrom() loop, counts datagrams
    listener.py tcp 8080      # accepts, reads, echoes back
"""
from __future__ import annotations

import json
import selectors
import signal
import socket
import sys

stop = False


def on_term(_sig, _frame) -> None:
    global stop
    stop = True


def serve_udp(port: int) -> dict:
    """Count every datagram that survives the checksum check in recvmsg()."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(0.05)
    print("READY", flush=True)
    received = nbytes = 0
    while not stop:
        try:
            data, _ = s.recvfrom(65535)
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        received += 1
        nbytes += len(data)
    return {"proto": "udp", "port": port, "received": received, "bytes": nbytes}


def serve_tcp(port: int) -> dict:
    """Accept connections, echo what arrives; count connections and bytes."""
    sel = selectors.DefaultSelector()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(128)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ)
    print("READY", flush=True)
    stats = {"proto": "tcp", "port": port, "connections": 0, "received": 0, "bytes": 0}
    while not stop:
        for key, _ in sel.select(timeout=0.05):
            if key.fileobj is ls:
                conn, _ = ls.accept()
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ)
                stats["connections"] += 1
                continue
            conn = key.fileobj
            try:
                data = conn.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionError:
                data = b""
            if not data:
                sel.unregister(conn)
                conn.close()
                continue
            stats["received"] += 1
            stats["bytes"] += len(data)
            conn.sendall(data)
    return stats


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("tcp", "udp"):
        print("usage: listener.py tcp|udp PORT", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    port = int(argv[1])
    result = serve_udp(port) if argv[0] == "udp" else serve_tcp(port)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
