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
import ipaddress
import json
import re
import secrets
import signal
import subprocess
import sys
from dataclasses import asdict

# The lab's parts; what other code reaches as vxlab.X is re-exported here.
from lab_checks import KERNEL_FACTS
from netns_tools import (LabError, conntrack_stats, delete_netns, down_prefix, ip_batch,
                         link_stats, list_netns, netns_counters, ns_exec, read_sysctl, run, sysctl)
from scenarios import SCENARIOS, IptablesRules
from topology import (BRIDGE, CALI_MAC, LAB_DIR, NODE_NAMES, POD_GW, PYTHON, RECEIVER,
                      UNDERLAY_MTU, VXLAN_OVERHEAD, LabConfig, Listener, Node, mac_from_ip, make_node)

__all__ = ["Lab", "LabError", "KERNEL_FACTS", "SCENARIOS", "IptablesRules", "PYTHON", "UNDERLAY_MTU",
           "VXLAN_OVERHEAD", "ip_batch", "link_stats", "list_netns", "ns_exec", "read_sysctl", "run",
           "sysctl"]

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
               bad_csum_kind: str = "random", vni: int | None = None, ip_id: int | None = None, seed: int = 1,
               pcap: str | None = None, dry_run: bool = False) -> dict:
        """Run inject.py in node `src`, aimed at node `dst`; returns its JSON summary.

        Inner addresses default to the two nodes' pods, as in real pod traffic. `pcap`: also
        write the frames there; `dry_run`: send nothing (frames for paced_send()).
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
        if pcap:
            argv += ["--pcap", pcap]
        if dry_run:
            argv.append("--dry-run")
        out = ns_exec(s.ns, argv, timeout=60).stdout.strip().splitlines()
        summary = json.loads(out[-1])
        summary["src_node"], summary["dst_node"] = src, dst
        return summary

    def paced_send(self, src: str, pcaps: list[str], interval: float = 0.1, gap: float = 0.003) -> int:
        """paced_send.py in node `src`: the pcaps' frames interleaved, a round every `interval`
        seconds (`path@k`: that stream every k-th round); returns how many frames went out."""
        s = self.nodes[src]
        argv = [PYTHON, str(LAB_DIR / "paced_send.py"), "--iface", s.underlay_dev,
                "--interval", str(interval), "--gap", str(gap), *pcaps]
        out = ns_exec(s.ns, argv, timeout=120).stdout.strip().splitlines()
        return json.loads(out[-1])["sent"]

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
