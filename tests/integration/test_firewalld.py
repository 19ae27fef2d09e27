"""Drops by Debian's real firewalld (nftables backend, zone `public`) named by its own rules.

firewalld runs in node B's network namespace (and a mount namespace and D-Bus of its own:
tests/support/firewalld_ns.py) and writes `table inet firewalld` itself: zones, and a final
`reject with icmpx admin-prohibited` in filter_IN_public (traffic to the node) and in
filter_FWD_public (traffic through it, to a pod). Neither rule has a counter: only a trace
names it, so a flow's first drops (before vxtrace traces it) stay unnamed; every later one
must be named by exactly the rule that rejected it, also across `firewall-cmd --reload`,
which deletes firewalld's table and writes it again with other handles.
"""
from __future__ import annotations

import calendar
import re
import tempfile
import threading
import time
import unittest
from pathlib import Path

from firewalld_ns import Firewalld
from vxtrace_run import Vxtrace, netns_inode
import vxlab

UNDERLAY = "198.51.100.0/24"
VXLAN_PORT = "4789/udp"
UNNAMED_AT_MOST = 3
BURST = 40  # a flow's drops before vxtrace has added it to its traced set


def setUpModule():
    global LAB, FW
    LAB = vxlab.Lab(underlay=UNDERLAY).up()
    unittest.addModuleCleanup(LAB.down)
    FW = Firewalld(LAB.receiver.ns).__enter__()
    unittest.addModuleCleanup(FW.__exit__, None, None, None)


def unix_ts(ts: str) -> float:
    """A line's "ts" (RFC 3339, nanoseconds, UTC) as seconds since the epoch."""
    whole, frac = ts.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float("0." + frac)


def reject_handle(chain: str) -> int:
    """The handle of the chain's `reject with icmpx admin-prohibited`, as nft lists it now."""
    out = vxlab.ns_exec(LAB.receiver.ns, ["nft", "-a", "list", "chain", "inet", "firewalld", chain]).stdout
    found = re.findall(r"^\s*reject with icmpx admin-prohibited # handle (\d+)$", out, re.M)
    if len(found) != 1:
        raise AssertionError(f"one reject in {chain} expected:\n{out}")
    return int(found[0])


def firewalld_rule(chain: str, handle: int) -> dict:
    return {"family": "inet", "table": "firewalld", "chain": chain, "handle": handle, "comment": None,
            "conntrack_invalid": False, "policy": False, "backend": "nftables"}


class FirewalldZones(unittest.TestCase):
    def setUp(self):
        self.b = LAB.receiver
        self.ns = netns_inode(self.b.ns)

    def open_vxlan_port(self) -> None:
        """What Calico's docs ask of a firewalld node: VXLAN in, at runtime only."""
        FW.cmd(f"--add-port={VXLAN_PORT}")
        self.addCleanup(FW.cmd, f"--remove-port={VXLAN_PORT}", check=False)

    def events(self, drops: list[dict], sport: int) -> list[dict]:
        """NETFILTER_DROP events of one injected flow in node B (other labs may run at once)."""
        return [d for d in drops if d["netns"] == self.ns and d["reason"] == "NETFILTER_DROP" and d["flow"]
                and d["flow"]["src"] == LAB.node("a").pod_ip and d["flow"]["sport"] == sport]

    def assert_named_by(self, events: list[dict], rules: list[dict], n: int) -> list[dict]:
        """n drops; each named by one of `rules` or not at all; all but the first few named."""
        self.assertEqual(len(events), n)
        named = [d for d in events if d["rule"] is not None]
        wrong = [d["rule"] for d in named if d["rule"] not in rules]
        self.assertEqual(wrong, [], f"named by a rule that did not drop it; the rule is one of {rules}")
        self.assertGreaterEqual(len(named), n - UNNAMED_AT_MOST, f"{len(named)}/{n} named")
        for d in events:
            self.assertEqual(d["cause"], "netfilter")
        return named

    def test_input_and_forward_rejects_each_named_by_its_own_rule(self):
        """With VXLAN let in, pod traffic is rejected by the zone's forward rule and traffic to
        the node's own address (over the overlay) by its input rule, both flows at once."""
        self.open_vxlan_port()
        fwd = firewalld_rule("filter_FWD_public", reject_handle("filter_FWD_public"))
        inp = firewalld_rule("filter_IN_public", reject_handle("filter_IN_public"))
        to_pod = lambda n: LAB.inject("a", "b", count=n, dport=7778, sport=43001)
        to_node = lambda n: LAB.inject("a", "b", count=n, dport=7779, sport=43002, inner_dst=self.b.underlay_ip)

        def both():
            to_pod(3)
            to_node(3)
            time.sleep(0.5)  # both flows traced from here on
            # Bursts a trace socket can hold: firewalld's chains cost ~50 trace messages a packet.
            t = threading.Thread(target=to_node, args=(BURST,))
            t.start()
            to_pod(BURST)
            t.join()

        with Vxtrace(self.b.ns, "--iface", self.b.underlay_dev) as vx:
            both()
            drops, summary = vx.stop()
        n = BURST + 3
        named_fwd = self.assert_named_by(self.events(drops, 43001), [fwd], n)
        named_inp = self.assert_named_by(self.events(drops, 43002), [inp], n)
        self.assertEqual([r for r in summary["netfilter_rules"] if r["table"] == "firewalld"], [],
                         "no counter in firewalld's rules: no total, never a made-up one")
        print(f"\nfirewalld: forward reject {len(named_fwd)}/{n} named, input reject {len(named_inp)}/{n} named",
              flush=True)

    def test_reload_mid_run_never_names_a_rule_of_the_old_ruleset(self):
        """`firewall-cmd --reload` while a flow is rejected: firewalld deletes its table and
        writes it again, with one more port allowed, so its rules' handles move. Drops after
        the reload are named by the new reject's handle; vxtrace's own table survives it."""
        FW.cmd("--permanent", f"--add-port={VXLAN_PORT}", "--add-port=9443/tcp")
        self.addCleanup(FW.cmd, "--reload", check=False)
        self.addCleanup(FW.cmd, "--permanent", f"--remove-port={VXLAN_PORT}", "--remove-port=9443/tcp",
                        check=False)
        self.open_vxlan_port()
        before = reject_handle("filter_FWD_public")
        with tempfile.TemporaryDirectory(prefix="vxfw-") as tmp:
            pcap = str(Path(tmp) / "fwd.pcap")
            LAB.inject("a", "b", count=100, dport=7780, sport=43003, dry_run=True, pcap=pcap)
            with Vxtrace(self.b.ns, "--iface", self.b.underlay_dev) as vx:
                sender = threading.Thread(target=LAB.paced_send, args=("a", [pcap]), kwargs={"interval": 0.05})
                sender.start()
                time.sleep(1.5)
                began = time.time()
                FW.cmd("--reload")
                ended = time.time()
                sender.join()
                tables = vxlab.ns_exec(self.b.ns, ["nft", "list", "tables"]).stdout
                drops, summary = vx.stop()
        after = reject_handle("filter_FWD_public")
        self.assertNotEqual(before, after, "the reload was to move the reject's handle")
        self.assertIn(f"table inet vxtrace_{vx.proc.pid}", tables, "firewalld's reload deletes only its own table")
        events = self.events(drops, 43003)
        # Packets in the reload's own transaction window may pass: fewer than 100 drops is right.
        self.assertGreaterEqual(len(events), 80)
        old, new = (firewalld_rule("filter_FWD_public", h) for h in (before, after))
        timeline = " ".join(f"{unix_ts(d['ts']) - began:+.2f}:{d['rule']['handle'] if d['rule'] else '-'}"
                            for d in events)
        self.assertEqual([d["rule"] for d in events if d["rule"] not in (None, old, new)], [], timeline)
        # Named by the rule of the ruleset the drop met: the old one's handle before the reload
        # began, the new one's after it ended; while firewalld rewrites its table, null is right.
        pre = [d for d in events if unix_ts(d["ts"]) < began]
        post = [d for d in events if unix_ts(d["ts"]) > ended]
        self.assertGreaterEqual(len(pre), 20, timeline)
        self.assertGreaterEqual(len(post), 30, timeline)
        self.assertNotIn(new, [d["rule"] for d in pre], timeline)
        self.assertEqual([d["rule"] for d in pre[UNNAMED_AT_MOST:]], [old] * (len(pre) - UNNAMED_AT_MOST), timeline)
        self.assertEqual([d["rule"] for d in post], [new] * len(post), "a rule of the deleted ruleset: " + timeline)
        during = [d for d in events if began <= unix_ts(d["ts"]) <= ended]
        print(f"\nfirewalld reload ({ended - began:.2f} s): reject handle {before} -> {after}; named before "
              f"{sum(1 for d in pre if d['rule'])}/{len(pre)}, during {sum(1 for d in during if d['rule'])}/"
              f"{len(during)}, after {len(post)}/{len(post)}", flush=True)


class FirewalldClosedVxlanPort(unittest.TestCase):
    """firewalld's default zone does not let VXLAN (UDP 4789) in: the encapsulated packets
    themselves are rejected in filter_IN_public, before decapsulation."""

    @classmethod
    def setUpClass(cls):
        b = LAB.receiver
        cls.rule = firewalld_rule("filter_IN_public", reject_handle("filter_IN_public"))
        with tempfile.TemporaryDirectory(prefix="vxfw-") as tmp:
            pcap = str(Path(tmp) / "closed.pcap")
            LAB.inject("a", "b", count=10, dport=7777, sport=43000, dry_run=True, pcap=pcap)
            with Vxtrace(b.ns, "--iface", b.underlay_dev) as vx:
                LAB.paced_send("a", [pcap], interval=0.1)
                drops, _ = vx.stop()
        cls.events = [d for d in drops if d["netns"] == netns_inode(b.ns) and d["reason"] == "NETFILTER_DROP"
                      and d["flow"] and d["flow"]["sport"] == 43000]

    def test_rejected_vxlan_packets_never_name_a_wrong_rule(self):
        self.assertEqual(len(self.events), 10)
        self.assertEqual([d["rule"] for d in self.events if d["rule"] not in (None, self.rule)], [])

    @unittest.expectedFailure
    def test_rejected_vxlan_packets_are_named(self):
        """Known gap: the event's flow is the inner (pod) flow, and that is the flow vxtrace
        traces, but the packet firewalld rejected is the outer one (node A -> node B, UDP
        4789): it never matches vxtrace's set, no trace names it, every drop stays unnamed."""
        self.assertEqual(len(self.events), 10)
        self.assertGreaterEqual(len([d for d in self.events if d["rule"]]), 10 - UNNAMED_AT_MOST)


if __name__ == "__main__":
    unittest.main()
