"""What the kernel does with each drop the lab provokes (reason, location, who sees it),
and the counter checks that prove a scenario provoked exactly that."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from netns_tools import conntrack_stats, iptables_packets, link_stats, netns_counters

if TYPE_CHECKING:
    from vxlab import Lab

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
