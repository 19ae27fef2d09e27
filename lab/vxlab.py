#!/usr/bin/python3
"""Network-namespace lab for vxtrace: a three-node Calico-style VXLAN overlay.

Topology (every object lives in a namespace named from a unique prefix P;
nothing is created in the host namespace):

    {P}-sw   Linux bridge br0 = the underlay "wire"; owns the gateway .254
             but does not forward, so nothing can leave the lab.
    {P}-a/b/c  nodes: eth0 192.0.2.1/.2/.3, vxlan.calico 10.244.N.0/32
             (VNI 4096, port 4789, nolearning, static route/neigh/FDB per
             peer exactly as Calico programs them), one cali* veth per pod.
    {P}-a1/b1/c1  pods: eth0 10.244.N.10/32, default via 169.254.1.1 onlink,
             answered by proxy ARP on the node's cali* side.

Node b is the receiver where vxtrace runs; the scenarios provoke real kernel
drops there (or in its pod b1) and measure them with kernel counters.

Use as a module (`with Lab() as lab: lab.run_scenario("outer_csum")`) or as a
CLI: `vxlab.py up|down|scenario NAME|list --prefix P`.
Always run with /usr/bin/python3 (the interpreter that has scapy).
"""
from __future__ import annotations

import argparse
import atexit
import hashlib
import ipaddress
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

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
NS_SUFFIX_RE = re.compile(r"-(sw|[a-z]|[a-z]1)$")


class LabError(RuntimeError):
    """A lab command failed; the message carries the command and its stderr."""


# --------------------------------------------------------------------------- shell helpers

def run(cmd: list[str], *, input: str | None = None, check: bool = True,
        timeout: float = 30) -> subprocess.CompletedProcess:
    """Run cmd with captured text output.

    Why not plain check=True: CalledProcessError hides stderr, and stderr
    ("RTNETLINK answers: File exists") is the only useful part.
    """
    try:
        proc = subprocess.run(cmd, input=input, text=True, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"timeout after {timeout}s: {shlex.join(cmd)}") from e
    if check and proc.returncode != 0:
        raise LabError(f"command failed ({proc.returncode}): {shlex.join(cmd)}\n{proc.stderr.strip()}")
    return proc


def ns_exec(ns: str, cmd: str | list[str], **kw) -> subprocess.CompletedProcess:
    """Run cmd (argv list, or a string split like a shell would) inside netns `ns`."""
    argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    return run(["ip", "netns", "exec", ns, *argv], **kw)


def ip_batch(ns: str, lines: Iterable[str]) -> None:
    """Many `ip` commands in one process: building the lab stays well under a second."""
    text = "\n".join(lines) + "\n"
    run(["ip", "-n", ns, "-batch", "-"], input=text)


def sysctl(ns: str, settings: dict[str, object]) -> None:
    """Write sysctls in ns. Keys use '/' separators so device names may contain dots."""
    if settings:
        ns_exec(ns, ["sysctl", "-qw", *[f"{k}={v}" for k, v in settings.items()]])


def read_sysctl(ns: str, key: str) -> str:
    """Current value, so a scenario can restore exactly what it changed."""
    return ns_exec(ns, ["sysctl", "-n", key]).stdout.strip()


def list_netns() -> list[str]:
    """Names from `ip netns list` (lines look like 'name (id: 3)')."""
    out = run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_pids(ns: str) -> list[int]:
    """Processes inside ns: they must die before the namespace can really go away."""
    return [int(p) for p in run(["ip", "netns", "pids", ns], check=False).stdout.split()]


def kill_pids(pids: Iterable[int], grace: float = 1.0) -> None:
    """SIGTERM then SIGKILL, by pid. A process left in a deleted netns would keep it alive."""
    pids = list(pids)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def delete_netns(names: Iterable[str]) -> list[str]:
    """Kill what runs inside, then delete each namespace. Returns the names deleted."""
    names = list(names)
    for ns in names:
        kill_pids(netns_pids(ns))
    for ns in names:
        run(["ip", "netns", "del", ns], check=False)
    return names


def down_prefix(prefix: str) -> list[str]:
    """Remove every lab namespace whose name starts with prefix (CLI `down`)."""
    if len(prefix) < 3:
        raise LabError("refusing a prefix shorter than 3 characters")
    ours = [n for n in list_netns() if n.startswith(prefix) and NS_SUFFIX_RE.search(n)]
    return delete_netns(ours)


# --------------------------------------------------------------------------- kernel counters

def netns_counters(ns: str) -> dict[str, int]:
    """SNMP + netstat counters of ns, named like nstat does (UdpInCsumErrors, TcpExtIPReversePathFilter).

    Read straight from /proc/net/{snmp,netstat} rather than through nstat,
    whose history file would make values depend on earlier runs.
    """
    out = ns_exec(ns, ["cat", "/proc/net/snmp", "/proc/net/netstat"]).stdout.splitlines()
    counters: dict[str, int] = {}
    for head, vals in zip(out[0::2], out[1::2]):
        group, names = head.split(":", 1)
        _, values = vals.split(":", 1)
        for name, value in zip(names.split(), values.split()):
            counters[group + name] = int(value)
    return counters


def conntrack_stats(ns: str) -> dict[str, int]:
    """/proc/net/stat/nf_conntrack of ns summed over CPUs (hex, one row per CPU)."""
    lines = ns_exec(ns, ["cat", "/proc/net/stat/nf_conntrack"]).stdout.split("\n")
    names = lines[0].split()
    totals = dict.fromkeys(names, 0)
    for row in filter(None, lines[1:]):
        for name, value in zip(names, row.split()):
            totals[name] += int(value, 16)
    totals.pop("entries", None)      # a gauge repeated per CPU, summing it means nothing
    return totals


def iptables_packets(ns: str, comment: str, table: str = "filter") -> int:
    """Packet counter of the rule(s) tagged with `-m comment --comment <comment>`."""
    out = ns_exec(ns, ["iptables-save", "-c", "-t", table]).stdout
    total = 0
    for line in out.splitlines():
        if f'--comment {comment}' in line or f'--comment "{comment}"' in line:
            total += int(line[1:line.index(":")])
    return total


def link_stats(ns: str, dev: str) -> dict[str, int]:
    """rx/tx packet and drop counters of a device (from `ip -s -j link`)."""
    data = json.loads(ns_exec(ns, ["ip", "-s", "-j", "link", "show", "dev", dev]).stdout)[0]
    s = data["stats64"]
    return {"rx_packets": s["rx"]["packets"], "rx_dropped": s["rx"]["dropped"],
            "tx_packets": s["tx"]["packets"], "tx_dropped": s["tx"]["dropped"]}


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


# --------------------------------------------------------------------------- the lab

_LIVE_LABS: set["Lab"] = set()
_HANDLERS_INSTALLED = False


def _teardown_live_labs() -> None:
    for lab in list(_LIVE_LABS):
        lab.down()


def _install_exit_handlers() -> None:
    """atexit + SIGTERM/SIGHUP -> SystemExit, so namespaces go away however we die.

    Only replaces default handlers: a caller with its own handlers keeps them.
    """
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    _HANDLERS_INSTALLED = True
    atexit.register(_teardown_live_labs)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, lambda s, _f: sys.exit(128 + s))
        except ValueError:      # not the main thread: context manager and atexit still apply
            pass


class Lab:
    """A running (or to-be-built) three-node VXLAN overlay. Use as a context manager.

    Attributes: prefix, cfg, sw_ns, nodes (name -> Node), namespaces (all names).
    """

    def __init__(self, prefix: str | None = None, *, underlay: str = "192.0.2.0/24",
                 pod_net: str = "10.244.0.0/16", vni: int = 4096, port: int = 4789,
                 vxlan_dev: str = "vxlan.calico", teardown: bool = True):
        self.cfg = LabConfig(prefix or f"vxt{secrets.token_hex(2)}", underlay, pod_net, vni, port, vxlan_dev)
        self.cfg.validate()
        self.teardown = teardown
        self.attached = False
        self._listeners: list[Listener] = []
        self._build_model()

    def _build_model(self) -> None:
        self.prefix = self.cfg.prefix
        self.sw_ns = f"{self.prefix}-sw"
        self.nodes = {n: make_node(self.cfg, n, i + 1) for i, n in enumerate(NODE_NAMES)}
        gw = ipaddress.ip_network(self.cfg.underlay).broadcast_address - 1
        self.gateway_ip = str(gw)
        self.gateway_mac = mac_from_ip((0x02, 0x00), self.gateway_ip)
        self.namespaces = [self.sw_ns] + [n.ns for n in self.nodes.values()] + [n.pod_ns for n in self.nodes.values()]

    # ---- lifecycle

    @classmethod
    def attach(cls, prefix: str) -> "Lab":
        """Model of a lab built earlier (e.g. by `vxlab.py up`); it is not torn down on exit."""
        out = run(["ip", "-n", f"{prefix}-sw", "-j", "link", "show", BRIDGE]).stdout
        alias = json.loads(out)[0].get("ifalias")
        if not alias:
            raise LabError(f"{prefix}-sw/{BRIDGE} carries no lab config; was it built by vxlab?")
        lab = cls.__new__(cls)
        lab.cfg = LabConfig(**json.loads(alias))
        lab.teardown = False
        lab.attached = True
        lab._listeners = []
        lab._build_model()
        return lab

    def __enter__(self) -> "Lab":
        return self if self.attached else self.up()

    def __exit__(self, *exc) -> None:
        if self.teardown:
            self.down()
        else:
            self.stop_listeners()

    def up(self, verify: bool = True) -> "Lab":
        """Build everything; on any failure remove what was built and re-raise."""
        existing = set(list_netns()) & set(self.namespaces)
        if existing:
            raise LabError(f"namespaces already exist: {sorted(existing)} (run `down --prefix {self.prefix}`)")
        if self.teardown:
            _install_exit_handlers()
            _LIVE_LABS.add(self)
        try:
            self._create_namespaces()
            self._build_switch()
            for node in self.nodes.values():
                self._build_node(node)
            for node in self.nodes.values():
                self._program_peers(node)
                self._build_pod(node)
            if verify:
                self.verify_healthy()
        except BaseException:
            self.down()
            raise
        return self

    def down(self) -> None:
        """Stop our servers, delete every namespace of this lab. Safe to call twice."""
        self.stop_listeners()
        delete_netns(n for n in list_netns() if n in self.namespaces)
        _LIVE_LABS.discard(self)

    def stop_listeners(self) -> None:
        """Stop every pod server we started (a leftover would hold its port and its netns)."""
        for lst in self._listeners:
            try:
                lst.stop()
            except Exception:
                lst.proc.kill()
        self._listeners.clear()

    # ---- construction steps

    def _create_namespaces(self) -> None:
        """Namespaces with lo up and IPv6 off (no RS/MLD/DAD chatter to pollute drop counts)."""
        for ns in self.namespaces:
            run(["ip", "netns", "add", ns])
            ip_batch(ns, ["link set lo up"])
            sysctl(ns, {"net/ipv6/conf/all/disable_ipv6": 1, "net/ipv6/conf/default/disable_ipv6": 1})

    def _build_switch(self) -> None:
        """The underlay L2 segment: a bridge with one static FDB entry per node (no flooding)."""
        alias = json.dumps(asdict(self.cfg), separators=(",", ":"))
        plen = ipaddress.ip_network(self.cfg.underlay).prefixlen
        cmds = [f"link add {BRIDGE} address {self.gateway_mac} type bridge stp_state 0",
                f"link set {BRIDGE} alias '{alias}'",
                f"addr add {self.gateway_ip}/{plen} dev {BRIDGE}",
                f"link set {BRIDGE} up"]
        ip_batch(self.sw_ns, cmds)
        sysctl(self.sw_ns, {"net/ipv4/ip_forward": 0})

    def _build_node(self, node: Node) -> None:
        """Underlay NIC (veth to the bridge), sysctls, and the VXLAN device."""
        port = f"port-{node.name}"
        ip_batch(self.sw_ns, [
            f"link add {port} type veth peer name {node.underlay_dev} netns {node.ns}",
            f"link set {port} master {BRIDGE} up"])
        run(["bridge", "-n", self.sw_ns, "fdb", "replace", node.underlay_mac, "dev", port, "master", "static"])
        # default/all before devices exist, so every later device inherits them.
        sysctl(node.ns, {"net/ipv4/ip_forward": 1,
                         "net/ipv4/conf/all/rp_filter": 0, "net/ipv4/conf/default/rp_filter": 0,
                         "net/ipv4/conf/all/accept_local": 0})
        plen = ipaddress.ip_network(self.cfg.underlay).prefixlen
        ip_batch(node.ns, [
            f"link set {node.underlay_dev} address {node.underlay_mac} mtu {UNDERLAY_MTU} up",
            f"addr add {node.underlay_ip}/{plen} dev {node.underlay_dev}",
            f"route add default via {self.gateway_ip} dev {node.underlay_dev}",
            f"link add {node.vxlan_dev} address {node.vxlan_mac} mtu {UNDERLAY_MTU - VXLAN_OVERHEAD} "
            f"type vxlan id {self.cfg.vni} dstport {self.cfg.port} local {node.underlay_ip} "
            f"dev {node.underlay_dev} nolearning",
            f"addr add {node.vxlan_ip}/32 dev {node.vxlan_dev}",
            f"link set {node.vxlan_dev} up"])
        sysctl(node.ns, {f"net/ipv4/conf/{d}/rp_filter": 0 for d in (node.underlay_dev, node.vxlan_dev, "lo")})

    def _program_peers(self, node: Node) -> None:
        """What Calico's VXLAN manager programs for every remote node: route, neighbour, FDB."""
        lines = []
        for peer in self.nodes.values():
            if peer is node:
                continue
            lines += [f"route add {peer.pod_cidr} via {peer.vxlan_ip} dev {node.vxlan_dev} onlink",
                      f"neigh add {peer.vxlan_ip} lladdr {peer.vxlan_mac} dev {node.vxlan_dev} nud permanent"]
        ip_batch(node.ns, lines)
        for peer in self.nodes.values():
            if peer is not node:
                run(["bridge", "-n", node.ns, "fdb", "append", peer.vxlan_mac, "dev", node.vxlan_dev,
                     "dst", peer.underlay_ip, "self", "permanent"])

    def _build_pod(self, node: Node) -> None:
        """Pod veth as the Calico CNI plugin makes it: /32 address, onlink default via 169.254.1.1."""
        mtu = UNDERLAY_MTU - VXLAN_OVERHEAD
        ip_batch(node.pod_ns, [
            f"link add eth0 type veth peer name {node.cali} netns {node.ns}",
            f"link set eth0 address {node.pod_mac} mtu {mtu} up",
            f"addr add {node.pod_ip}/32 dev eth0",
            f"route add {POD_GW} dev eth0 scope link",
            f"route add default via {POD_GW} dev eth0 onlink"])
        ip_batch(node.ns, [
            f"link set {node.cali} address {CALI_MAC} mtu {mtu} up",
            f"route add {node.pod_ip} dev {node.cali} scope link",
            # Felix keeps a static ARP entry per local workload; it also avoids ARP queueing under bursts.
            f"neigh replace {node.pod_ip} lladdr {node.pod_mac} dev {node.cali} nud permanent"])
        sysctl(node.ns, {f"net/ipv4/conf/{node.cali}/proxy_arp": 1,
                         f"net/ipv4/neigh/{node.cali}/proxy_delay": 0,
                         f"net/ipv4/conf/{node.cali}/forwarding": 1,
                         f"net/ipv4/conf/{node.cali}/rp_filter": 0})
        # ping_group_range: ping then uses an ICMP datagram socket, so its echo replies are not
        # also freed as NO_SOCKET by ping_rcv (what happens with a raw-socket ping).
        sysctl(node.pod_ns, {"net/ipv4/conf/all/rp_filter": 0, "net/ipv4/conf/eth0/rp_filter": 0,
                             "net/ipv4/ping_group_range": "0 2147483647"})

    # ---- accessors and helpers for tests

    def node(self, name: str) -> Node:
        return self.nodes[name]

    @property
    def receiver(self) -> Node:
        return self.nodes[RECEIVER]

    def ns_exec(self, ns: str, cmd: str | list[str], **kw) -> subprocess.CompletedProcess:
        return ns_exec(ns, cmd, **kw)

    def pod_exec(self, name: str, cmd: str | list[str], **kw) -> subprocess.CompletedProcess:
        return ns_exec(self.nodes[name].pod_ns, cmd, **kw)

    def counters(self, ns: str) -> dict[str, int]:
        return netns_counters(ns)

    def conntrack_stats(self, ns: str) -> dict[str, int]:
        return conntrack_stats(ns)

    def start_listener(self, ns: str, proto: str, port: int) -> Listener:
        """Start listener.py in ns; it is stopped by stop_listeners()/down()."""
        lst = Listener(ns, proto, port)
        self._listeners = [x for x in self._listeners if x.result is None] + [lst]
        return lst

    def inject(self, src: str, dst: str, *, count: int = 1, proto: str = "udp",
               inner_src: str | None = None, inner_dst: str | None = None, sport: int = 40000,
               dport: int = 5000, tcp_flags: str = "PA", payload_len: int = 512,
               bad_outer_csum: int = 0, bad_inner_csum: bool = False, outer_csum: str = "good",
               bad_csum_kind: str = "random", vni: int | None = None, ip_id: int | None = None, seed: int = 1) -> dict:
        """Run inject.py in node `src`, aimed at node `dst`; returns its JSON summary.

        Inner addresses default to the two nodes' pods, as in real pod traffic.
        """
        s, d = self.nodes[src], self.nodes[dst]
        argv = [PYTHON, str(LAB_DIR / "inject.py"),
                "--iface", s.underlay_dev, "--vxlan-dev", s.vxlan_dev,
                "--src-underlay", s.underlay_ip, "--dst-underlay", d.underlay_ip,
                "--peer-mac", d.underlay_mac, "--src-vxlan-mac", s.vxlan_mac, "--dst-vxlan-mac", d.vxlan_mac,
                "--vni", str(self.cfg.vni if vni is None else vni), "--port", str(self.cfg.port),
                "--count", str(count), "--bad-outer-csum", str(bad_outer_csum), "--outer-csum", outer_csum,
                "--inner-src", inner_src or s.pod_ip, "--inner-dst", inner_dst or d.pod_ip,
                "--proto", proto, "--sport", str(sport), "--dport", str(dport), "--tcp-flags", tcp_flags,
                "--payload-len", str(payload_len), "--seed", str(seed), "--bad-csum-kind", bad_csum_kind]
        if bad_inner_csum:
            argv.append("--bad-inner-csum")
        if ip_id is not None:
            argv += ["--ip-id", str(ip_id)]
        out = ns_exec(s.ns, argv, timeout=60).stdout.strip().splitlines()
        summary = json.loads(out[-1])
        summary["src_node"], summary["dst_node"] = src, dst
        return summary

    def ping(self, src: str, dst: str, count: int = 3) -> int:
        """Ping pod dst from pod src; returns replies received."""
        out = self.pod_exec(src, ["ping", "-c", str(count), "-i", "0.05", "-W", "1", "-q",
                                  self.nodes[dst].pod_ip], check=False).stdout
        m = re.search(r"(\d+) received", out)
        return int(m.group(1)) if m else 0

    def tcp_echo(self, src: str, dst: str, port: int, nbytes: int = 8192) -> int:
        """Open a real TCP connection pod src -> pod dst:port, send nbytes, return bytes echoed."""
        code = ("import socket,sys;s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=3);"
                "d=b'x'*int(sys.argv[3]);s.sendall(d);s.shutdown(socket.SHUT_WR);n=0\n"
                "while True:\n b=s.recv(65536)\n if not b: break\n n+=len(b)\nprint(n)")
        out = self.pod_exec(src, [PYTHON, "-c", code, self.nodes[dst].pod_ip, str(port), str(nbytes)],
                            timeout=10).stdout
        return int(out.strip() or 0)

    def udp_send(self, src: str, dst: str, port: int, count: int = 10, size: int = 600) -> None:
        """Send count real UDP datagrams pod src -> pod dst:port through the kernel's own VXLAN path."""
        code = ("import socket,sys,time;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                "for i in range(int(sys.argv[3])):\n s.sendto(b'u'*int(sys.argv[4]),(sys.argv[1],int(sys.argv[2])))"
                "\n time.sleep(0.001)")
        self.pod_exec(src, [PYTHON, "-c", code, self.nodes[dst].pod_ip, str(port), str(count), str(size)])

    def verify_healthy(self) -> None:
        """Pod a1 -> pod b1 ping and a TCP echo must work, or the lab is useless."""
        if self.ping("a", "b", 2) != 2:
            raise LabError("pod a1 cannot ping pod b1 through the overlay")
        with self.start_listener(self.receiver.pod_ns, "tcp", 18080):
            if self.tcp_echo("a", "b", 18080, 4096) != 4096:
                raise LabError("TCP a1 -> b1 through the overlay failed")

    def describe(self) -> dict:
        """Plain-data description of the lab (what `up` prints)."""
        return {"prefix": self.prefix, "config": asdict(self.cfg), "switch_ns": self.sw_ns,
                "gateway_ip": self.gateway_ip, "receiver": RECEIVER,
                "nodes": {n: asdict(node) for n, node in self.nodes.items()}}

    def run_scenario(self, name: str, **kw) -> dict:
        """Run scenario `name` (see SCENARIOS) against this lab; it undoes its own changes."""
        if name not in SCENARIOS:
            raise LabError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
        return SCENARIOS[name](self, **kw)


# --------------------------------------------------------------------------- kernel facts
# What kernel 6.18 really does for each scenario, established with dropwatch.py
# (tracefs: reason, location, stack, devices the skb was received on) and a
# one-off BPF probe on tp_btf/kfree_skb (skb->dev, its netns, rx_sk's netns).
# `where`/`dev`/`rx_sk` are roles resolved per lab by expectation():
#   node = receiver node b, pod = its pod b1, underlay/vxlan/pod_eth0 = devices.
# dev None: skb->dev is NULL. dev "dev_scratch": the field is not a pointer
# (UDP reuses it as udp_dev_scratch once queued to the socket): do not follow it.

@dataclass(frozen=True)
class DropFact:
    reason: str               # enum skb_drop_reason name without SKB_DROP_REASON_
    location: str             # function passed as location to trace_kfree_skb
    where: str                # netns role of the drop: "node" or "pod"
    dev: str | None           # role of skb->dev at the drop: underlay | vxlan | pod_eth0 | None | dev_scratch
    rx_sk: str | None         # netns role of the rx_sk tracepoint argument, None if NULL
    context: str              # "softirq" or "task" (the reading process, in the pod's netns)
    path: tuple[str, ...]     # device roles the same skb was received on (node b, then pod b1)


KERNEL_FACTS: dict[str, DropFact] = {
    "outer_csum": DropFact("UDP_CSUM", "udp_queue_rcv_one_skb", "node", "underlay", "node", "softirq",
                           ("underlay",)),
    "inner_csum_tcp": DropFact("TCP_CSUM", "tcp_v4_do_rcv", "pod", None, "pod", "softirq",
                               ("underlay", "vxlan", "pod_eth0")),
    "inner_csum_tcp/short": DropFact("TCP_CSUM", "tcp_v4_rcv", "pod", "pod_eth0", None, "softirq",
                                     ("underlay", "vxlan", "pod_eth0")),
    "inner_csum_udp": DropFact("UDP_CSUM", "udp_recvmsg", "pod", "dev_scratch", None, "task",
                               ("underlay", "vxlan", "pod_eth0")),
    "inner_csum_udp/short": DropFact("UDP_CSUM", "__udp4_lib_rcv", "pod", "pod_eth0", None, "softirq",
                                     ("underlay", "vxlan", "pod_eth0")),
    "rp_filter": DropFact("IP_RPFILTER", "ip_rcv_finish_core", "node", "vxlan", None, "softirq",
                          ("underlay", "vxlan")),
    "ct_invalid": DropFact("NETFILTER_DROP", "nft_do_chain", "node", "vxlan", None, "softirq",
                           ("underlay", "vxlan")),
    "nf_drop": DropFact("NETFILTER_DROP", "nft_do_chain", "node", "vxlan", None, "softirq",
                        ("underlay", "vxlan")),
    "unknown_vni": DropFact("VXLAN_VNI_NOT_FOUND", "vxlan_rcv", "node", "underlay", None, "softirq",
                            ("underlay",)),
}
CHECKSUM_BREAK = 76   # L4 length up to which the kernel verifies a CHECKSUM_NONE packet at once


def expectation(lab: "Lab", key: str, count: int, sender: str = "a", **extra) -> dict:
    """The drop vxtrace must report for scenario `key`, with roles resolved to this lab's names."""
    f = KERNEL_FACTS[key]
    b = lab.receiver
    ns_of = {"node": b.ns, "pod": b.pod_ns, None: None}
    devs = {"underlay": (b.underlay_dev, b.ns), "vxlan": (b.vxlan_dev, b.ns), "pod_eth0": ("eth0", b.pod_ns),
            None: (None, None), "dev_scratch": ("<dev_scratch: not a pointer>", None)}
    dev, dev_ns = devs[f.dev]
    return {"reason": f.reason, "count": count, "netns": ns_of[f.where], "location": f.location,
            "skb_dev": dev, "skb_dev_netns": dev_ns, "rx_sk_netns": ns_of[f.rx_sk], "context": f.context,
            "received_on": [devs[role][0] for role in f.path], "peer_underlay_ip": lab.node(sender).underlay_ip,
            "vni": lab.cfg.vni, **extra}


# --------------------------------------------------------------------------- measuring

@dataclass
class Check:
    """One kernel counter expected to move by exactly `expected` during a scenario."""
    label: str
    read: Callable[[], int]
    expected: int
    before: int = 0
    observed: int | None = None

    def as_dict(self) -> dict:
        return {"counter": self.label, "expected": self.expected, "observed": self.observed,
                "ok": self.observed == self.expected}


def nstat_check(ns: str, name: str, expected: int) -> Check:
    return Check(f"{ns}:nstat:{name}", lambda: netns_counters(ns).get(name, 0), expected)


def conntrack_check(ns: str, name: str, expected: int) -> Check:
    return Check(f"{ns}:conntrack:{name}", lambda: conntrack_stats(ns).get(name, 0), expected)


def iptables_check(ns: str, comment: str, expected: int) -> Check:
    return Check(f"{ns}:iptables:{comment}", lambda: iptables_packets(ns, comment), expected)


def link_check(ns: str, dev: str, stat: str, expected: int) -> Check:
    return Check(f"{ns}:link:{dev}:{stat}", lambda: link_stats(ns, dev)[stat], expected)


def start_checks(checks: list[Check]) -> None:
    for c in checks:
        c.before = c.read()


def finish_checks(checks: list[Check], timeout: float = 5.0) -> list[dict]:
    """Poll until every counter reached its expected delta (drops in process context, e.g.
    UDP recvmsg, lag behind the send) or the timeout; then report observed deltas.

    A short settle wait after success catches counters that overshoot.
    """
    deadline = time.monotonic() + timeout
    while True:
        for c in checks:
            c.observed = c.read() - c.before
        if all(c.observed == c.expected for c in checks) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    time.sleep(0.2)
    for c in checks:
        c.observed = c.read() - c.before
    return [c.as_dict() for c in checks]


def result(name: str, lab: Lab, *, sent: list[dict], expect: dict | None, checks: list[dict],
           **extra) -> dict:
    """Common shape of every scenario's return value."""
    rx = lab.receiver
    return {"scenario": name, "prefix": lab.prefix,
            "receiver": {"node": rx.name, "netns": rx.ns, "underlay_ip": rx.underlay_ip,
                         "vxlan_dev": rx.vxlan_dev, "vxlan_mac": rx.vxlan_mac,
                         "pod_ns": rx.pod_ns, "pod_ip": rx.pod_ip},
            "vni": lab.cfg.vni, "port": lab.cfg.port, "sent": sent, "expect": expect,
            "checks": checks, "ok": all(c["ok"] for c in checks), **extra}


def five_tuple(summary: dict) -> dict:
    i = summary["inner"]
    return {k: i[k] for k in ("src", "dst", "proto", "sport", "dport")}


# --------------------------------------------------------------------------- scenarios
# Each scenario runs against a built lab, provokes drops on node b (or its pod
# b1), measures the kernel counters that must move, and undoes every change it
# made (rules, sysctls, conntrack entries, servers) so scenarios can run in any
# order on one lab. `expect` is the kernel fact verified on 6.18 (README.md).

def scenario_outer_csum(lab: Lab, count: int = 1000, bad: int = 37, payload_len: int = 512,
                        seed: int = 2) -> dict:
    """A sends `count` frames, `bad` with a wrong outer UDP checksum; C sends `count` good ones.

    Good frames carry UDP to a reading server in pod b1, so they are delivered
    and the only drops are the bad outer checksums, in b's own namespace.
    """
    a, b, c = (lab.node(n) for n in "abc")
    port = 5000
    delivered = 2 * count - bad
    with lab.start_listener(b.pod_ns, "udp", port) as lst:
        checks = [nstat_check(b.ns, "UdpInCsumErrors", bad), nstat_check(b.ns, "UdpInErrors", bad),
                  nstat_check(b.pod_ns, "UdpInDatagrams", delivered)]
        start_checks(checks)
        sent = [lab.inject("a", "b", count=count, bad_outer_csum=bad, dport=port, sport=40100,
                           payload_len=payload_len, seed=seed),
                lab.inject("c", "b", count=count, dport=port, sport=40300, payload_len=payload_len,
                           seed=seed + 1)]
        measured = finish_checks(checks) + [lst.check(delivered)]
    expect = expectation(lab, "outer_csum", bad, per_peer={a.underlay_ip: bad, c.underlay_ip: 0},
                         ip_ids=sent[0]["bad_outer_ip_ids"], inner=five_tuple(sent[0]))
    return result("outer_csum", lab, sent=sent, expect=expect, checks=measured)


def _inner_csum(lab: Lab, proto: str, count: int, payload_len: int, seed: int) -> dict:
    """A sends frames with a good outer but bad inner L4 checksum to a live server in pod b1."""
    b = lab.receiver
    port = 8080 if proto == "tcp" else 5001
    prefix = "Tcp" if proto == "tcp" else "Udp"
    with lab.start_listener(b.pod_ns, proto, port) as lst:
        checks = [nstat_check(b.pod_ns, f"{prefix}InCsumErrors", count),
                  nstat_check(b.ns, "UdpInCsumErrors", 0),
                  link_check(b.ns, b.vxlan_dev, "rx_packets", count)]
        start_checks(checks)
        sent = [lab.inject("a", "b", count=count, proto=proto, dport=port, sport=40200,
                           tcp_flags="PA", bad_inner_csum=True, payload_len=payload_len, seed=seed)]
        measured = finish_checks(checks) + [lst.check(0)]
    short = payload_len + (20 if proto == "tcp" else 8) <= CHECKSUM_BREAK
    key = f"inner_csum_{proto}" + ("/short" if short else "")
    expect = expectation(lab, key, count, inner=five_tuple(sent[0]),
                         ip_id_first=sent[0]["ip_id_first"], ip_id_last=sent[0]["ip_id_last"])
    return result(f"inner_csum_{proto}", lab, sent=sent, expect=expect, checks=measured)


def scenario_inner_csum_tcp(lab: Lab, count: int = 50, payload_len: int = 600, seed: int = 3) -> dict:
    """Bad inner TCP checksum; dropped by pod b1's TCP stack, in front of a listening socket."""
    return _inner_csum(lab, "tcp", count, payload_len, seed)


def scenario_inner_csum_udp(lab: Lab, count: int = 50, payload_len: int = 600, seed: int = 4) -> dict:
    """Bad inner UDP checksum; dropped when pod b1's server reads (process context) for long datagrams."""
    return _inner_csum(lab, "udp", count, payload_len, seed)


def scenario_rp_filter(lab: Lab, count: int = 50, spoofed_src: str = "10.244.77.5", payload_len: int = 400,
                       seed: int = 5) -> dict:
    """all.rp_filter=0 but vxlan.calico.rp_filter=1 on b: the max() wins, strict RPF drops.

    b routes spoofed_src via its default route on eth0, not via vxlan.calico,
    so the strict reverse-path check fails for packets arriving on the tunnel.
    """
    b = lab.receiver
    keys = ["net/ipv4/conf/all/rp_filter", f"net/ipv4/conf/{b.vxlan_dev}/rp_filter"]
    saved = {k: read_sysctl(b.ns, k) for k in keys}
    r = json.loads(ns_exec(b.ns, ["ip", "-j", "route", "get", spoofed_src]).stdout)[0]
    route = f"{spoofed_src} via {r.get('gateway', '-')} dev {r['dev']}"
    sysctl(b.ns, {keys[0]: 0, keys[1]: 1})
    try:
        checks = [nstat_check(b.ns, "TcpExtIPReversePathFilter", count),
                  link_check(b.ns, b.vxlan_dev, "rx_packets", count)]
        start_checks(checks)
        sent = [lab.inject("a", "b", count=count, inner_src=spoofed_src, dport=5002, sport=40400,
                           payload_len=payload_len, seed=seed)]
        measured = finish_checks(checks)
    finally:
        sysctl(b.ns, saved)
    expect = expectation(lab, "rp_filter", count, inner=five_tuple(sent[0]))
    return result("rp_filter", lab, sent=sent, expect=expect, checks=measured,
                  sysctls={keys[0]: 0, keys[1]: 1}, receiver_route_to_src=route)


class IptablesRules:
    """Rules added in a node for one scenario, each tagged with a comment; removed on exit."""

    def __init__(self, ns: str, rules: list[list[str]]):
        self.ns, self.rules = ns, rules

    def __enter__(self) -> "IptablesRules":
        for r in self.rules:
            ns_exec(self.ns, ["iptables", "-w", "-A", *r])
        return self

    def __exit__(self, *exc) -> None:
        for r in self.rules:
            ns_exec(self.ns, ["iptables", "-w", "-D", *r], check=False)
        # Forget flows this scenario created, so later scenarios start from a clean table.
        ns_exec(self.ns, ["conntrack", "-F"], check=False)


def scenario_ct_invalid(lab: Lab, count: int = 50, tcp_flags: str = "SF", payload_len: int = 0,
                        tcp_loose: int | None = None, seed: int = 6) -> dict:
    """`--ctstate INVALID -j DROP` in FORWARD on b; SYN|FIN segments are INVALID for conntrack.

    Variant: tcp_flags="A", tcp_loose=0 (a mid-stream ACK for an unknown flow is
    INVALID once conntrack may not pick up connections); the sysctl is restored.
    """
    b = lab.receiver
    tag = "vxlab-ct-invalid"
    rule = ["FORWARD", "-m", "conntrack", "--ctstate", "INVALID", "-m", "comment", "--comment", tag, "-j", "DROP"]
    loose_key = "net/netfilter/nf_conntrack_tcp_loose"
    with IptablesRules(b.ns, [rule]):
        saved = {loose_key: read_sysctl(b.ns, loose_key)}
        if tcp_loose is not None:
            sysctl(b.ns, {loose_key: tcp_loose})
        try:
            checks = [conntrack_check(b.ns, "invalid", count), iptables_check(b.ns, tag, count)]
            start_checks(checks)
            sent = [lab.inject("a", "b", count=count, proto="tcp", tcp_flags=tcp_flags, dport=8081,
                               sport=40500, payload_len=payload_len, seed=seed)]
            measured = finish_checks(checks)
        finally:
            sysctl(b.ns, saved)
    expect = expectation(lab, "ct_invalid", count, conntrack="INVALID (no entry attached)",
                         inner=five_tuple(sent[0]))
    return result("ct_invalid", lab, sent=sent, expect=expect, checks=measured, rules=[rule],
                  sysctls={loose_key: tcp_loose} if tcp_loose is not None else {})


def scenario_nf_drop(lab: Lab, count: int = 50, dport: int = 9999, payload_len: int = 300,
                     seed: int = 7) -> dict:
    """A plain rule drops valid, conntrack-tracked (state NEW) UDP to pod b1:9999 in FORWARD on b.

    `--ctstate NEW` in the rule both enables conntrack in b's namespace and
    proves, through the rule's own counter, that each dropped packet had an entry.
    """
    b = lab.receiver
    tag = "vxlab-nf-drop"
    rule = ["FORWARD", "-p", "udp", "--dport", str(dport), "-m", "conntrack", "--ctstate", "NEW",
            "-m", "comment", "--comment", tag, "-j", "DROP"]
    with IptablesRules(b.ns, [rule]):
        checks = [iptables_check(b.ns, tag, count), conntrack_check(b.ns, "invalid", 0)]
        start_checks(checks)
        sent = [lab.inject("a", "b", count=count, dport=dport, sport=40600, payload_len=payload_len, seed=seed)]
        measured = finish_checks(checks)
    expect = expectation(lab, "nf_drop", count, conntrack="NEW (unconfirmed entry attached)",
                         inner=five_tuple(sent[0]))
    return result("nf_drop", lab, sent=sent, expect=expect, checks=measured, rules=[rule])


def scenario_unknown_vni(lab: Lab, count: int = 50, vni: int = 999, payload_len: int = 300,
                         seed: int = 8) -> dict:
    """A sends VNI `vni`, which no device on b owns; b's VXLAN socket drops them after decoding."""
    b = lab.receiver
    checks = [nstat_check(b.ns, "UdpInDatagrams", count), nstat_check(b.ns, "UdpInErrors", 0),
              link_check(b.ns, b.vxlan_dev, "rx_packets", 0), link_check(b.ns, b.vxlan_dev, "rx_dropped", 0)]
    start_checks(checks)
    sent = [lab.inject("a", "b", count=count, vni=vni, dport=5003, sport=40700, payload_len=payload_len,
                       seed=seed)]
    measured = finish_checks(checks)
    expect = expectation(lab, "unknown_vni", count, vni=vni, inner=five_tuple(sent[0]))
    return result("unknown_vni", lab, sent=sent, expect=expect, checks=measured)


def scenario_healthy(lab: Lab, pings: int = 5, udp_count: int = 20, tcp_bytes: int = 65536) -> dict:
    """Real pod a1 -> pod b1 traffic through the kernel's own VXLAN path: ping, TCP, UDP. No drops."""
    b = lab.receiver
    with lab.start_listener(b.pod_ns, "tcp", 8080), lab.start_listener(b.pod_ns, "udp", 5000) as udp:
        checks = [nstat_check(b.ns, "UdpInCsumErrors", 0), nstat_check(b.ns, "UdpInErrors", 0),
                  nstat_check(b.ns, "TcpExtIPReversePathFilter", 0),
                  nstat_check(b.pod_ns, "TcpInCsumErrors", 0), nstat_check(b.pod_ns, "UdpInCsumErrors", 0),
                  nstat_check(b.pod_ns, "UdpInDatagrams", udp_count)]
        start_checks(checks)
        replies = lab.ping("a", "b", pings)
        echoed = lab.tcp_echo("a", "b", 8080, tcp_bytes)
        lab.udp_send("a", "b", 5000, udp_count)
        measured = finish_checks(checks) + [udp.check(udp_count)]
    measured += [
        {"counter": "ping a1->b1 replies", "expected": pings, "observed": replies, "ok": replies == pings},
        {"counter": "tcp a1->b1 bytes echoed", "expected": tcp_bytes, "observed": echoed,
         "ok": echoed == tcp_bytes}]
    sent = [{"src_node": "a", "dst_node": "b", "ping": pings, "tcp_bytes": tcp_bytes, "udp_datagrams": udp_count,
             "inner": {"src": lab.node("a").pod_ip, "dst": b.pod_ip}}]
    return result("healthy", lab, sent=sent, expect=None, checks=measured)


SCENARIOS: dict[str, Callable[..., dict]] = {
    "outer_csum": scenario_outer_csum,
    "inner_csum_tcp": scenario_inner_csum_tcp,
    "inner_csum_udp": scenario_inner_csum_udp,
    "rp_filter": scenario_rp_filter,
    "ct_invalid": scenario_ct_invalid,
    "nf_drop": scenario_nf_drop,
    "unknown_vni": scenario_unknown_vni,
    "healthy": scenario_healthy,
}


# --------------------------------------------------------------------------- CLI

def parse_kv(pairs: list[str]) -> dict:
    """`--set count=10 --set payload_len=60` -> scenario keyword arguments (ints where possible)."""
    out = {}
    for p in pairs:
        k, _, v = p.partition("=")
        out[k] = int(v) if re.fullmatch(r"-?\d+", v) else v
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="vxtrace network-namespace lab")
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="build a lab and leave it running")
    down = sub.add_parser("down", help="delete every namespace whose name starts with --prefix")
    sc = sub.add_parser("scenario", help="run a scenario on the lab --prefix (a temporary lab if none)")
    sub.add_parser("list", help="list scenarios")
    for p in (up, down, sc):
        p.add_argument("--prefix", required=p is down, help="namespace name prefix (default vxt<4 hex>)")
    for p in (up, sc):
        p.add_argument("--underlay", default="192.0.2.0/24", help="RFC 5737 underlay subnet")
        p.add_argument("--vni", type=int, default=4096)
        p.add_argument("--port", type=int, default=4789)
        p.add_argument("--vxlan-dev", default="vxlan.calico")
    sc.add_argument("name", choices=list(SCENARIOS))
    sc.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="scenario keyword argument")
    args = ap.parse_args(argv)

    if args.cmd == "list":
        for name, fn in SCENARIOS.items():
            print(f"{name:16} {fn.__doc__.splitlines()[0]}")
        return 0
    if args.cmd == "down":
        print(json.dumps({"deleted": down_prefix(args.prefix)}))
        return 0
    opts = dict(underlay=args.underlay, vni=args.vni, port=args.port, vxlan_dev=args.vxlan_dev)
    if args.cmd == "up":
        lab = Lab(args.prefix, teardown=False, **opts)
        _install_exit_handlers()         # a signal while building still removes the half-built lab
        lab.up()
        print(json.dumps(lab.describe(), indent=2))
        return 0
    existing = args.prefix and f"{args.prefix}-sw" in list_netns()
    lab = Lab.attach(args.prefix) if existing else Lab(args.prefix, **opts)
    with lab:
        res = lab.run_scenario(args.name, **parse_kv(args.set))
    print(json.dumps(res, indent=2))
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except LabError as e:
        print(f"vxlab: {e}", file=sys.stderr)
        sys.exit(2)
