"""The failure modes of the incident write-ups, each provoked for real on a Lab and
measured with the kernel's own counters; each undoes its own changes."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Callable

from lab_checks import (CHECKSUM_BREAK, conntrack_check, expectation, finish_checks, five_tuple,
                        iptables_check, link_check, nstat_check, result, start_checks)
from netns_tools import ns_exec, read_sysctl, sysctl

if TYPE_CHECKING:
    from vxlab import Lab

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
