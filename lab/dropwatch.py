#!/usr/bin/python3
"""Independent ground truth for the lab: which kernel drops happen, where, and on what path.

vxtrace must not be verified with itself, so this uses only tracefs (no BPF,
no perf, no kprobes - this kernel has neither kprobes nor eprobes):

  * skb:kfree_skb gives the drop reason, the location (caller of
    sk_skb_reason_drop) and whether a receiving socket was passed (rx_sk);
    a stacktrace trigger gives one kernel stack per (reason, location);
  * net:netif_receive_skb gives, for every device an skb was received on,
    the device name and the skb address, so each drop can be joined to the
    devices its skb traversed (e.g. eth0 -> vxlan.calico -> eth0 in the pod):
    this also shows whether the same skb survives decapsulation.

    /usr/bin/python3 lab/dropwatch.py [--all] [--no-path] -- CMD [ARGS...]

It mounts tracefs on a temporary directory, records into a private trace
instance named vxlabdrop<pid> (the global buffer and other users are left
alone), runs CMD, prints a JSON summary grouped by (reason, location), then
removes the instance and unmounts, also on errors.

Device names are per-namespace (every node and pod has an eth0), so the path
tells which hop, not which namespace; README.md records the namespaces that a
BPF check established once.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

NOT_SPECIFIED = "NOT_SPECIFIED"       # freed without a reason: the bulk of benign frees
EVENT_RE = re.compile(r"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+\[(?P<cpu>\d+)\]\s+(?P<flags>\S+)\s+"
                      r"(?P<ts>[\d.]+):\s+(?P<event>\w+):\s+(?P<body>.*)$")
KFREE_RE = re.compile(r"skbaddr=(?P<skb>\S+) rx_sk=(?P<rx_sk>\S+) protocol=(?P<proto>\d+) "
                      r"location=(?P<loc>\S+) reason: (?P<reason>\w+)")
RECV_RE = re.compile(r"dev=(?P<dev>\S+) skbaddr=(?P<skb>\S+) len=(?P<len>\d+)")
CONSUME_RE = re.compile(r"skbaddr=(?P<skb>\S+)")


class TraceInstance:
    """A private tracefs instance with kfree_skb (+ netif_receive_skb); removed on exit."""

    def __init__(self, with_path: bool, keep_unspecified: bool):
        self.name = f"vxlabdrop{os.getpid()}"
        self.with_path, self.keep_unspecified = with_path, keep_unspecified
        self.mnt = Path(tempfile.mkdtemp(prefix="vxlab-tracefs-"))
        self.inst: Path | None = None

    def __enter__(self) -> "TraceInstance":
        subprocess.run(["mount", "-t", "tracefs", "nodev", str(self.mnt)], check=True)
        try:
            self.inst = self.mnt / "instances" / self.name
            self.inst.mkdir()
            (self.inst / "buffer_size_kb").write_text("16384")
            (self.inst / "options" / "hash-ptr").write_text("0")     # raw addresses: joinable with BPF output
            kfree = self.inst / "events/skb/kfree_skb"
            if self.with_path:
                # Every free must be seen to forget recycled addresses, so filter in Python;
                # stacks only for real reasons (2 = NOT_SPECIFIED since 5.17).
                for ev in ("net/netif_receive_skb", "skb/consume_skb"):
                    (self.inst / "events" / ev / "enable").write_text("1")
            elif not self.keep_unspecified:
                (kfree / "filter").write_text("reason != 2")
            (kfree / "trigger").write_text("stacktrace if reason != 2\n")
            (kfree / "enable").write_text("1")
        except BaseException:
            self.__exit__()
            raise
        return self

    def read(self) -> str:
        return (self.inst / "trace").read_text()

    def __exit__(self, *exc) -> None:
        if self.inst and self.inst.exists():
            for ev in ("skb/kfree_skb", "net/netif_receive_skb", "skb/consume_skb"):
                for f, v in (("enable", "0"), ("trigger", "!stacktrace\n")):
                    try:
                        (self.inst / "events" / ev / f).write_text(v)
                    except OSError:
                        pass
            try:
                self.inst.rmdir()
            except OSError as e:
                print(f"dropwatch: could not remove instance {self.inst}: {e}", file=sys.stderr)
        subprocess.run(["umount", str(self.mnt)], check=False, capture_output=True)
        try:
            os.rmdir(self.mnt)
        except OSError:
            pass


def parse(text: str) -> tuple[list[dict], dict[str, list[str]]]:
    """Drop events (with their stack) and, per skb address, the devices it was received on
    before each drop. An address is forgotten when its skb is freed: addresses are recycled."""
    drops: list[dict] = []
    path: dict[str, list[str]] = collections.defaultdict(list)
    current: dict | None = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if line.lstrip().startswith("=> ") and current is not None:
            current["stack"].append(line.strip()[3:].split("+")[0])
            continue
        m = EVENT_RE.match(line)
        if not m:
            continue
        body = m["body"]
        if m["event"] == "netif_receive_skb" and (r := RECV_RE.match(body)):
            path[r["skb"]].append(r["dev"])
            current = None
        elif m["event"] == "consume_skb" and (c := CONSUME_RE.match(body)):
            path.pop(c["skb"], None)
            current = None
        elif m["event"] == "kfree_skb" and (k := KFREE_RE.match(body)):
            current = {"reason": k["reason"], "location": k["loc"].split("+")[0], "skb": k["skb"],
                       "rx_sk": k["rx_sk"] not in ("0000000000000000", "(nil)", "0"),
                       "task": m["task"].strip(), "softirq": m["flags"][2:3] in ("s", "H"),
                       "path": path.pop(k["skb"], []), "stack": []}
            drops.append(current)
        elif m["event"] == "kernel_stack":
            pass                                      # header of the stack lines that follow
        else:
            current = None
    return drops, path


def summarise(drops: list[dict], keep_unspecified: bool) -> list[dict]:
    """One row per (reason, location, path, rx_sk, context) with a count and a sample stack."""
    rows: dict[tuple, dict] = {}
    for d in drops:
        if d["reason"] == NOT_SPECIFIED and not keep_unspecified:
            continue
        key = (d["reason"], d["location"], tuple(d["path"]), d["rx_sk"], d["softirq"])
        row = rows.setdefault(key, {"reason": d["reason"], "location": d["location"],
                                    "received_on": d["path"], "rx_sk": d["rx_sk"],
                                    "softirq": d["softirq"], "count": 0,
                                    "stack": [f for f in d["stack"] if not f.startswith(("bpf_", "_einit"))][:14]})
        row["count"] += 1
    return sorted(rows.values(), key=lambda r: -r["count"])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="record kernel drops (reason, location, path) while CMD runs")
    ap.add_argument("--all", action="store_true", help="also record NOT_SPECIFIED frees")
    ap.add_argument("--no-path", action="store_true", help="skip netif_receive_skb (less volume)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("give a command after --")
    with TraceInstance(not a.no_path, a.all) as tr:
        rc = subprocess.run(cmd).returncode
        drops, _ = parse(tr.read())
    print(json.dumps({"command_rc": rc, "drops": summarise(drops, a.all)}, indent=2))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
