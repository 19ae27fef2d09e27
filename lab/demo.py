#!/usr/bin/python3
"""The README's first command: vxtrace attributing real drops live on the lab.

Builds the three-node overlay, runs vxtrace (text output) inside node b, provokes
each failure mode from the incident write-ups in turn, then stops vxtrace so it
prints its summary, and removes the lab (also on Ctrl-C or failure).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import vxlab

ROOT = Path(__file__).resolve().parents[1]
VXTRACE = os.environ.get("VXTRACE_BIN", str(ROOT / "build" / "loader" / "vxtrace"))
PCAP = os.environ.get("VXTRACE_DEMO_PCAP", "/tmp/vxtrace-demo.pcapng")  # the drops, for Wireshark

STEPS = [  # (scenario, keyword arguments, what a person should see)
    ("outer_csum", {"count": 1000, "bad": 37},
     "node a's 'NIC' corrupts the outer UDP checksum of 37 of 1000 VXLAN packets; node c is healthy"),
    ("inner_csum_tcp", {"count": 5},
     "inner TCP checksums broken (the kernel VXLAN checksum-offload bug): dropped inside pod b1, joined to the tunnel from node a"),
    ("inner_csum_udp", {"count": 5},
     "inner UDP checksums broken: dropped when the pod's server reads them"),
    ("rp_filter", {"count": 5},
     "rp_filter: all=0 but vxlan.calico=1 (lowering `all` alone is not enough) drops asymmetric overlay traffic"),
    ("ct_invalid", {"count": 5}, "conntrack INVALID packets dropped by a --ctstate INVALID -j DROP rule"),
    ("nf_drop", {"count": 5}, "a plain firewall rule drops tracked pod traffic"),
    ("unknown_vni", {"count": 5}, "VXLAN frames with an unknown VNI"),
]


def banner(text: str) -> None:
    print(f"\n\033[1m>>> {text}\033[0m", flush=True)


def echo(stream, started: threading.Event) -> None:
    for line in stream:
        sys.stdout.write(line)
        sys.stdout.flush()
        if line.startswith("TIME "):
            started.set()
    started.set()


def main() -> int:
    if not Path(VXTRACE).exists():
        sys.exit(f"demo: {VXTRACE} not built; run scripts/setup.sh")
    with vxlab.Lab() as lab:
        b = lab.receiver
        banner(f"lab {lab.prefix}: nodes a/b/c on {lab.cfg.underlay}, vxlan.calico VNI {lab.cfg.vni}; "
               f"vxtrace runs in node b ({b.ns})")
        proc = subprocess.Popen(["ip", "netns", "exec", b.ns, VXTRACE, "--iface", b.underlay_dev,
                                 "--node", "node-b", "--pcap", PCAP], stdout=subprocess.PIPE, text=True)
        started = threading.Event()
        reader = threading.Thread(target=echo, args=(proc.stdout, started), daemon=True)
        reader.start()
        try:
            if not started.wait(15) or proc.poll() is not None:
                return 1
            for name, kw, story in STEPS:
                banner(story)
                res = lab.run_scenario(name, **kw)
                time.sleep(0.3)
                if not res["ok"]:
                    print(f"demo: the lab did not provoke {name} as expected: {res['checks']}", file=sys.stderr)
            banner("stopping vxtrace: its summary comes from exact in-kernel counters")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(20)
            reader.join(5)
    if proc.returncode == 0:
        show_capture()
    return proc.returncode


def show_capture() -> None:
    """The evidence to hand off: every streamed drop, its bytes and its story, in a pcapng."""
    comments = subprocess.run(["tshark", "-r", PCAP, "-T", "fields", "-e", "frame.comment"],
                              capture_output=True, text=True, timeout=60).stdout.splitlines()
    banner(f"every streamed drop is also in {PCAP} ({len(comments)} packets), e.g. with "
           f"tshark -r {PCAP} -T fields -e frame.comment:")
    for c in [c for c in comments if "cause=checksum" in c][:2] + [c for c in comments if "rule=" in c][:1]:
        print("  " + c)


if __name__ == "__main__":
    sys.exit(main())
