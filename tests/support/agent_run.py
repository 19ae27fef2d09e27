"""Runs `vxtrace agent` inside a lab namespace: its JSON lines, its HTTP endpoints, its exit.

The agent listens on 127.0.0.1 inside the namespace (each namespace has its own ports, so
labs running side by side never collide); scrapes run in the same namespace.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The trace tests' binary, process harness and program checks.
from vxtrace_run import VXTRACE, JsonProcess, prog_exists, wait_gone  # noqa: F401

PYTHON = "/usr/bin/python3"
PORT = 9476
UNDERLAY = "198.51.100.128/26"   # this suite's own addresses: per-peer counts stay ours
POD_NET = "10.251.0.0/16"

_FETCH = ("import sys,urllib.request,urllib.error\n"
          "try:\n r=urllib.request.urlopen(sys.argv[1],timeout=5); print(r.status); print(r.read().decode(),end='')\n"
          "except urllib.error.HTTPError as e:\n print(e.code); print(e.read().decode(),end='')\n")


def http_get(ns: str, path: str, port: int = PORT) -> tuple[int, str]:
    """GET http://127.0.0.1:port/path from inside namespace ns: (status, body)."""
    out = subprocess.run(["ip", "netns", "exec", ns, PYTHON, "-c", _FETCH, f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, timeout=20)
    if out.returncode != 0:
        return 0, out.stderr
    status, _, body = out.stdout.partition("\n")
    return int(status), body


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> dict[tuple, float]:
    """{(name, (("label","value"), ...sorted)): value} for every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"not an exposition line: {line!r}")
        labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


class Agent(JsonProcess):
    """`with Agent(ns, args) as ag:` ... `ag.stop()` -> exit code; ag.lines holds the JSON lines."""

    name = "agent"

    def __init__(self, ns: str, *args: str, start_timeout: float = 15.0, listen: bool = True,
                 wrapper: list[str] | None = None):
        """listen=False: args carry their own --listen (on PORT); wrapper runs the agent (a container)."""
        own = ["--listen", f"127.0.0.1:{PORT}"] if listen else []
        cmd = [*wrapper, *args] if wrapper else ["ip", "netns", "exec", ns, VXTRACE, "agent", *own, *args]
        super().__init__(cmd, start_timeout)
        self.ns = ns

    def ready(self) -> bool:
        return self.wait_for(lambda: http_get(self.ns, "/healthz")[0] == 200, 5)

    def metrics(self) -> dict:
        status, body = http_get(self.ns, "/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}: {body}")
        return parse_metrics(body)

    def metrics_text(self) -> str:
        return http_get(self.ns, "/metrics")[1]

    def stop(self, sig=signal.SIGTERM) -> tuple[int, float]:
        """Signal the agent; (exit code, seconds it took to exit)."""
        took = self._end(sig)
        return self.proc.returncode, took

    def rss_kib(self, field: str = "VmRSS") -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tc_programs(ns: str, dev: str) -> list[dict]:
    """BPF programs on dev's tc ingress (tcx links and clsact filters), per bpftool."""
    out = subprocess.run(["ip", "netns", "exec", ns, "bpftool", "-j", "net", "show", "dev", dev],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return []
    progs = []
    for entry in json.loads(out.stdout or "[]"):
        for kind in ("tc", "tcx"):
            progs += entry.get(kind, [])
    return progs


def recreate_vxlan(lab, node) -> None:
    """Delete node's VXLAN device and create it again as Calico does on restart."""
    delete_vxlan(lab, node)
    create_vxlan(lab, node)


def delete_vxlan(lab, node) -> None:
    lab.ns_exec(node.ns, ["ip", "link", "del", node.vxlan_dev])


def create_vxlan(lab, node) -> None:
    import vxlab
    cfg = lab.cfg
    vxlab.ip_batch(node.ns, [
        f"link add {node.vxlan_dev} address {node.vxlan_mac} mtu {vxlab.UNDERLAY_MTU - vxlab.VXLAN_OVERHEAD} "
        f"type vxlan id {cfg.vni} dstport {cfg.port} local {node.underlay_ip} dev {node.underlay_dev} nolearning",
        f"addr add {node.vxlan_ip}/32 dev {node.vxlan_dev}",
        f"link set {node.vxlan_dev} up"])
    vxlab.sysctl(node.ns, {f"net/ipv4/conf/{node.vxlan_dev}/rp_filter": 0})
    lab._program_peers(node)
