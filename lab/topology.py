"""The lab's shape: constants, the nodes' addresses and devices, and the servers that
run in pods."""
from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from netns_tools import LabError

LAB_DIR = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"             # the interpreter with scapy; PATH's python3 has none
NODE_NAMES = ("a", "b", "c")
RECEIVER = "b"                          # where vxtrace runs and every scenario drops
RFC5737 = tuple(ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
CALI_MAC = "ee:ee:ee:ee:ee:ee"          # Calico gives every host-side veth this MAC
POD_GW = "169.254.1.1"                  # Calico's fake pod gateway, answered by proxy ARP
UNDERLAY_MTU = 1500
VXLAN_OVERHEAD = 50
BRIDGE = "br0"
PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{2,11}$")


# --------------------------------------------------------------------------- topology model

def mac_from_ip(prefix_bytes: tuple[int, int], ip: str) -> str:
    """Locally administered MAC that embeds the IPv4 address: readable in pcaps."""
    octets = prefix_bytes + tuple(ipaddress.ip_address(ip).packed)
    return ":".join(f"{b:02x}" for b in octets)


@dataclass(frozen=True)
class Node:
    """Everything a test needs to know about one node and its pod."""
    name: str             # "a"
    index: int            # 1 for a, 2 for b, 3 for c
    ns: str               # "{P}-a"
    underlay_dev: str     # "eth0"
    underlay_ip: str      # "192.0.2.1"
    underlay_mac: str
    vxlan_dev: str        # "vxlan.calico"
    vxlan_ip: str         # "10.244.1.0"
    vxlan_mac: str
    pod_cidr: str         # "10.244.1.0/24"
    pod_ns: str           # "{P}-a1"
    pod_ip: str           # "10.244.1.10"
    pod_mac: str
    cali: str             # host-side veth of the pod, in the node namespace


@dataclass
class LabConfig:
    """What varies between labs; stored in the lab (br0 alias) so `attach` can rebuild the model."""
    prefix: str
    underlay: str = "192.0.2.0/24"
    pod_net: str = "10.244.0.0/16"
    vni: int = 4096
    port: int = 4789
    vxlan_dev: str = "vxlan.calico"

    def validate(self) -> None:
        if not PREFIX_RE.match(self.prefix):
            raise LabError(f"prefix {self.prefix!r} must match {PREFIX_RE.pattern}")
        net = ipaddress.ip_network(self.underlay)
        if not any(net.subnet_of(r) for r in RFC5737):
            raise LabError(f"underlay {net} is not inside RFC 5737 documentation space")
        if not ipaddress.ip_network(self.pod_net).subnet_of(ipaddress.ip_network("10.0.0.0/8")):
            raise LabError("pod_net must be inside 10.0.0.0/8")
        if len(self.vxlan_dev) > 15:
            raise LabError("vxlan_dev name longer than IFNAMSIZ-1")


def make_node(cfg: LabConfig, name: str, index: int) -> Node:
    """Derive every address/MAC/name of node `name` from the config (deterministic)."""
    underlay = ipaddress.ip_network(cfg.underlay)
    pod_block = list(ipaddress.ip_network(cfg.pod_net).subnets(new_prefix=24))[index]
    underlay_ip = str(underlay.network_address + index)
    vxlan_ip = str(pod_block.network_address)
    pod_ip = str(pod_block.network_address + 10)
    digest = hashlib.sha1(f"{cfg.prefix}/{name}1".encode()).hexdigest()
    return Node(
        name=name, index=index, ns=f"{cfg.prefix}-{name}",
        underlay_dev="eth0", underlay_ip=underlay_ip, underlay_mac=mac_from_ip((0x02, 0x00), underlay_ip),
        vxlan_dev=cfg.vxlan_dev, vxlan_ip=vxlan_ip, vxlan_mac=f"02:76:78:00:00:{index:02x}",
        pod_cidr=str(pod_block), pod_ns=f"{cfg.prefix}-{name}1", pod_ip=pod_ip,
        pod_mac=mac_from_ip((0x02, 0x50), pod_ip), cali=f"cali{digest[:11]}",
    )


# --------------------------------------------------------------------------- pod-side servers

class Listener:
    """listener.py running in a pod namespace; stop() returns what it received."""

    def __init__(self, ns: str, proto: str, port: int):
        self.ns, self.proto, self.port = ns, proto, port
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, PYTHON, str(LAB_DIR / "listener.py"), proto, str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "READY":
            self.proc.kill()
            raise LabError(f"listener {proto}/{port} in {ns} did not start: {line} {self.proc.stderr.read()}")
        self.result: dict | None = None

    def __enter__(self) -> "Listener":
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.stop()
        except Exception:
            self.proc.kill()

    def check(self, expected: int) -> dict:
        """A check entry comparing the datagrams/segments the server read with `expected`."""
        got = self.stop().get("received")
        return {"counter": f"{self.ns}:listener:{self.proto}/{self.port}", "expected": expected,
                "observed": got, "ok": got == expected}

    def stop(self) -> dict:
        """SIGTERM the server (by its pid) and parse its JSON summary; idempotent."""
        if self.result is None:
            self.proc.send_signal(signal.SIGTERM)
            out, err = self.proc.communicate(timeout=5)
            lines = out.strip().splitlines()
            self.result = json.loads(lines[-1]) if lines else {"error": err.strip()}
        return self.result
