"""Netfilter drops named by their rule, on a Calico-style iptables-nft ruleset in the lab.

Each test provokes drops by one rule (or two at once) and asserts the cause that follows the
rule, the rule's fields on every event and the exact per-rule totals of the summary; and that
--causes selects by that cause.
"""
from __future__ import annotations

import calendar
import json
import threading
import time
import unittest
from pathlib import Path

import jsonschema

from vxtrace_run import Vxtrace, netns_inode, peer
import calico_rules
import vxlab

UNDERLAY = "198.51.100.0/24"
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "deploy" / "schema" / "vxtrace-events.schema.json")
                    .read_text())


def setUpModule():
    global LAB
    LAB = vxlab.Lab(underlay=UNDERLAY).up()


def tearDownModule():
    LAB.down()


class CalicoRuleset(unittest.TestCase):
    def setUp(self):
        self.b = LAB.receiver
        self.rules = calico_rules.CalicoRules(self.b, LAB.cfg.pod_net)
        self.rules.__enter__()
        self.addCleanup(self.rules.__exit__, None, None, None)

    def run_vxtrace(self, provoke) -> tuple[list[dict], dict]:
        with Vxtrace(self.b.ns, "--iface", self.b.underlay_dev) as vx:
            provoke()
            return vx.stop()

    def netfilter_events(self, drops: list[dict], dport: int) -> list[dict]:
        return [d for d in drops if d["reason"] == "NETFILTER_DROP" and d["flow"]
                and d["flow"]["src"] in (LAB.node("a").pod_ip, "10.99.0.5") and d["flow"]["dport"] == dport]

    def rule_total(self, summary: dict, chain: str, table: str = "filter") -> dict:
        found = [r for r in summary["netfilter_rules"] if r["chain"] == chain and r["table"] == table
                 and r["netns"] == netns_inode(self.b.ns)]  # another lab's rules are its own
        self.assertEqual(len(found), 1, summary["netfilter_rules"])
        return found[0]

    def policy_drops(self, n: int) -> None:
        LAB.inject("a", "b", count=n, dport=7777, sport=41000)

    def raw_drops(self, n: int) -> None:
        LAB.inject("a", "b", count=n, dport=7778, sport=41001, inner_src="10.99.0.5")

    def test_networkpolicy_drop_names_the_profile_rule(self):
        drops, summary = self.run_vxtrace(lambda: self.policy_drops(40))
        events = self.netfilter_events(drops, 7777)
        self.assertEqual(len(events), 40)
        for d in events:
            self.assertEqual(d["cause"], "netfilter")
            self.assertEqual(d["ct_state"], "new")
            r = d["rule"]
            self.assertEqual((r["family"], r["table"], r["chain"]), ("ip", "filter", self.rules.tw_chain))
            self.assertEqual(r["comment"], f"cali:{calico_rules.PROFILE_ID} {calico_rules.PROFILE_COMMENT}")
            self.assertFalse(r["conntrack_invalid"])
            self.assertIsInstance(r["handle"], int)
        total = self.rule_total(summary, self.rules.tw_chain)
        self.assertEqual((total["drops"], total["handle"]), (40, events[0]["rule"]["handle"]))
        validator = jsonschema.Draft202012Validator(SCHEMA)
        for line in events + [summary]:
            self.assertEqual(list(validator.iter_errors(line)), [], json.dumps(line))
        self.assertEqual(peer(summary, LAB.node("a").underlay_ip)["by_cause"], {"netfilter": 40})

    def test_invalid_drop_is_conntrack_by_its_rule(self):
        drops, summary = self.run_vxtrace(
            lambda: LAB.inject("a", "b", count=30, proto="tcp", tcp_flags="SF", dport=8081, sport=41002))
        events = self.netfilter_events(drops, 8081)
        self.assertEqual(len(events), 30)
        for d in events:
            self.assertEqual(d["cause"], "conntrack")
            self.assertEqual(d["rule"]["comment"], f"cali:{calico_rules.INVALID_ID}")
            self.assertTrue(d["rule"]["conntrack_invalid"])
        self.assertEqual(self.rule_total(summary, self.rules.tw_chain)["drops"], 30)
        self.assertEqual(summary["drops"].get("conntrack"), 30)
        self.assertEqual(peer(summary, LAB.node("a").underlay_ip)["by_cause"], {"conntrack": 30})

    def test_raw_table_drop_before_conntrack_is_netfilter(self):
        drops, summary = self.run_vxtrace(lambda: self.raw_drops(25))
        events = self.netfilter_events(drops, 7778)
        self.assertEqual(len(events), 25)
        for d in events:
            self.assertEqual(d["cause"], "netfilter", "conntrack never ran: the raw table is before it")
            self.assertEqual(d["ct_state"], "none")
            self.assertEqual((d["rule"]["table"], d["rule"]["chain"]), ("raw", "cali-PREROUTING"))
        self.assertEqual(self.rule_total(summary, "cali-PREROUTING", "raw")["drops"], 25)
        self.assertNotIn("conntrack", summary["drops"])

    def test_allowed_service_port_is_not_dropped_by_a_rule(self):
        drops, summary = self.run_vxtrace(
            lambda: LAB.inject("a", "b", count=20, proto="tcp", tcp_flags="S", dport=8080, sport=41003))
        self.assertEqual(self.netfilter_events(drops, 8080), [])
        self.assertEqual([r for r in summary["netfilter_rules"] if r["netns"] == netns_inode(self.b.ns)], [])

    def test_two_rules_at_once_totals_exact_and_no_wrong_rule(self):
        """Two rules dropping at once, as on a node where policy drops never stop: a flow's first
        drops make vxtrace trace it, and from then on every drop is named by its own trace."""
        def both():
            self.policy_drops(3)
            self.raw_drops(3)
            time.sleep(0.5)  # both flows traced from here on
            t = threading.Thread(target=self.raw_drops, args=(300,))
            t.start()
            self.policy_drops(300)
            t.join()
        drops, summary = self.run_vxtrace(both)
        for dport, chain in ((7777, self.rules.tw_chain), (7778, "cali-PREROUTING")):
            events = self.netfilter_events(drops, dport)
            self.assertEqual(len(events), 303)
            named = [d for d in events if d["rule"]]
            self.assertEqual({d["rule"]["chain"] for d in named} - {chain}, set(), "never the other rule")
            self.assertGreaterEqual(len(named), 300)
        self.assertEqual(self.rule_total(summary, self.rules.tw_chain)["drops"], 303)
        self.assertEqual(self.rule_total(summary, "cali-PREROUTING", "raw")["drops"], 303)
        self.assertGreaterEqual(summary["netfilter_named_by_trace"], 600)
        nf = [d for d in drops if d["cause"] in ("netfilter", "conntrack") and d["reason"] == "NETFILTER_DROP"]
        self.assertEqual(summary["netfilter_named_by_trace"] + summary["netfilter_named_by_counters"]
                         + summary["netfilter_unnamed"], len(nf))


def unix_ts(ts: str) -> float:
    """A line's "ts" (RFC 3339, nanoseconds, UTC) as seconds since the epoch."""
    whole, frac = ts.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float("0." + frac)


class BigRuleset(unittest.TestCase):
    """20,000 iptables-nft rules, as a kube-proxy iptables-mode node has: reading them costs far
    more than a drop may wait, so drops are named by trace (or stay unnamed), never held for a
    reading, and a drop of another cause is never held behind them."""

    def test_netfilter_and_other_drops_stream_without_waiting_for_a_reading(self):
        b = LAB.receiver
        rules = ["*filter", ":VXBIG - [0:0]", "-A FORWARD -j VXBIG"]
        rules += [f"-A VXBIG -p udp --dport {20000 + i} -m comment --comment vxbig{i} -j DROP"
                  for i in range(20000)] + ["COMMIT", ""]
        vxlab.ns_exec(b.ns, ["iptables-nft-restore", "--noflush"], input="\n".join(rules), timeout=120)
        self.addCleanup(vxlab.ns_exec, b.ns, ["sh", "-c", "iptables -D FORWARD -j VXBIG; iptables -F VXBIG; "
                                              "iptables -X VXBIG"], check=False)
        with Vxtrace(b.ns, "--iface", b.underlay_dev) as vx:
            for i in range(10):
                LAB.inject("a", "b", count=1, dport=20007, sport=42000)       # rule vxbig7
                LAB.inject("a", "b", count=1, bad_outer_csum=1, dport=5000, sport=42001)  # checksum
                time.sleep(0.1)
            drops, summary = vx.stop()
            lines, arrivals = list(vx.lines), list(vx.arrivals)
        ns = netns_inode(b.ns)
        delays = {"netfilter": [], "checksum": []}
        for line, arrived in zip(lines, arrivals):
            if line["type"] == "drop" and line["netns"] == ns and line["cause"] in delays and line["flow"] \
                    and line["flow"]["sport"] in (42000, 42001):
                delays[line["cause"]].append(arrived - unix_ts(line["ts"]))
        self.assertEqual((len(delays["netfilter"]), len(delays["checksum"])), (10, 10), delays)
        # Seconds before (a 0.4 s reading per drop); now the ring's own wakeup (<= 100 ms) and
        # scheduling: a loose bound that still catches a drop held for a reading.
        for cause, d in delays.items():
            self.assertLess(max(d), 1.0, f"{cause}: {d}")
        events = [d for d in drops if d["netns"] == ns and d["reason"] == "NETFILTER_DROP"]
        named = [d for d in events if d["rule"]]
        self.assertTrue(all(d["rule"]["comment"] == "vxbig7" for d in named), named)
        # All but the drops before vxtrace had read the first one (the ring's wakeup, <= 100 ms,
        # and adding the flow to its set): the rest named by trace.
        self.assertGreaterEqual(len(named), 6)
        print(f"\n20,000 rules: netfilter event delay max {max(delays['netfilter']) * 1000:.0f} ms, "
              f"checksum {max(delays['checksum']) * 1000:.0f} ms, {len(named)}/10 named", flush=True)


class RuleTooBigForAPage(unittest.TestCase):
    def test_rules_after_a_rule_larger_than_a_page_are_read_and_counted(self):
        """A rule whose netlink message is larger than a page (60 `ip saddr !=`) once ended the
        dump silently: every rule after it was invisible, its drops unnamed and uncounted."""
        b = LAB.receiver
        big = " ".join(f"ip saddr != 192.0.2.{i}" for i in range(1, 61))
        script = ("table ip vxbig {\n chain fw {\n  type filter hook forward priority 0;\n"
                  f"  {big} udp dport 9990 counter drop comment \"vxbig-huge\"\n"
                  "  udp dport 9991 counter drop comment \"vxbig-after\"\n }\n}\n")
        vxlab.ns_exec(b.ns, ["nft", "-f", "-"], input=script)
        self.addCleanup(vxlab.ns_exec, b.ns, ["nft", "delete", "table", "ip", "vxbig"], check=False)
        with Vxtrace(b.ns, "--iface", b.underlay_dev) as vx:
            for i in range(5):
                LAB.inject("a", "b", count=1, dport=9990, sport=42100)
                time.sleep(0.1)
                LAB.inject("a", "b", count=1, dport=9991, sport=42101)
                time.sleep(0.1)
            drops, summary = vx.stop()
        ns = netns_inode(b.ns)
        totals = {r["comment"]: r["drops"] for r in summary["netfilter_rules"] if r["table"] == "vxbig"}
        self.assertEqual(totals, {"vxbig-huge": 5, "vxbig-after": 5})
        for dport, comment in ((9990, "vxbig-huge"), (9991, "vxbig-after")):
            events = [d for d in drops if d["netns"] == ns and d["reason"] == "NETFILTER_DROP" and d["flow"]
                      and d["flow"]["dport"] == dport]
            self.assertEqual(len(events), 5)
            named = [d for d in events if d["rule"]]
            self.assertEqual({d["rule"]["comment"] for d in named}, {comment})
            self.assertGreaterEqual(len(named), 4)


KUBE_PROXY_NFT = """table ip vxkube {
  map no-endpoint-services {
    type ipv4_addr . inet_proto . inet_service : verdict
    elements = { %(svc)s . tcp . 8443 comment "default/web:https" : goto reject-chain }
  }
  chain reject-chain {
    reject
  }
  chain service-endpoints-check {
    ip daddr . meta l4proto . th dport vmap @no-endpoint-services
  }
  chain filter-forward {
    type filter hook forward priority -110; policy accept;
    ct state new jump service-endpoints-check
  }
}
"""


class KubeProxyNftables(unittest.TestCase):
    def test_service_without_endpoints_is_named_by_its_reject_rule(self):
        """kube-proxy's nftables mode: a service with no endpoints is a verdict-map entry that
        jumps to a chain whose only rule is `reject`, without a counter anywhere: only a trace
        can name it."""
        b = LAB.receiver
        vxlab.ns_exec(b.ns, ["nft", "-f", "-"], input=KUBE_PROXY_NFT % {"svc": b.pod_ip})
        self.addCleanup(vxlab.ns_exec, b.ns, ["nft", "delete", "table", "ip", "vxkube"], check=False)
        with Vxtrace(b.ns, "--iface", b.underlay_dev) as vx:
            for i in range(8):
                LAB.inject("a", "b", count=1, proto="tcp", tcp_flags="S", dport=8443, sport=42200 + i)
                time.sleep(0.1)
            drops, summary = vx.stop()
        ns = netns_inode(b.ns)
        events = [d for d in drops if d["netns"] == ns and d["reason"] == "NETFILTER_DROP" and d["flow"]
                  and d["flow"]["dport"] == 8443]
        self.assertEqual(len(events), 8)
        named = [d for d in events if d["rule"]]
        self.assertEqual({(d["rule"]["table"], d["rule"]["chain"], d["rule"]["policy"]) for d in named},
                         {("vxkube", "reject-chain", False)})
        self.assertGreaterEqual(len(named), 6)  # all but the drops before the flow was traced
        self.assertEqual([r for r in summary["netfilter_rules"] if r["table"] == "vxkube"], [],
                         "no counter: no total, never a made-up one")


class PlainRule(unittest.TestCase):
    def test_plain_icmp_drop_without_conntrack_is_netfilter(self):
        """`iptables -A INPUT -p icmp -j DROP` where no rule uses conntrack (node c)."""
        a, c = LAB.node("a"), LAB.node("c")
        rule = ["INPUT", "-p", "icmp", "-m", "comment", "--comment", "vxlab-plain", "-j", "DROP"]
        with vxlab.IptablesRules(c.ns, [rule]), Vxtrace(c.ns, "--iface", c.underlay_dev) as vx:
            vxlab.ns_exec(a.ns, ["ping", "-c", "20", "-i", "0.01", "-W", "0.2", c.underlay_ip], check=False)
            drops, summary = vx.stop()
        events = [d for d in drops if d["reason"] == "NETFILTER_DROP" and d["netns"] == netns_inode(c.ns)]
        self.assertEqual(len(events), 20)
        for d in events:
            self.assertEqual((d["cause"], d["ct_state"]), ("netfilter", "none"))
            self.assertEqual((d["rule"]["table"], d["rule"]["chain"], d["rule"]["comment"]),
                             ("filter", "INPUT", "vxlab-plain"))
        self.assertEqual([(r["chain"], r["drops"]) for r in summary["netfilter_rules"]
                          if r["netns"] == netns_inode(c.ns)], [("INPUT", 20)])
        self.assertEqual(summary["drops"].get("netfilter"), 20)


class ConntrackByRule(unittest.TestCase):
    """A netfilter drop whose rule matches ct state INVALID is conntrack's everywhere: in what
    --causes selects, in the events and in the sending peer's counts. 10 bare ACKs from pod a1 to
    pod b1 (INVALID once conntrack may not pick up connections, dropped by `--ctstate INVALID -j
    DROP`), beside 5 UDP drops by a plain rule."""

    ACKS, PLAIN = 10, 5

    def run_with(self, causes: str) -> tuple[list[dict], list[dict], dict]:
        b = LAB.receiver
        with Vxtrace(b.ns, "--iface", b.underlay_dev, "--causes", causes) as vx:
            res = LAB.run_scenario("ct_invalid", count=self.ACKS, tcp_flags="A", tcp_loose=0)
            self.assertTrue(res["ok"], res["checks"])
            res = LAB.run_scenario("nf_drop", count=self.PLAIN)
            self.assertTrue(res["ok"], res["checks"])
            drops, summary = vx.stop()
        pod_a = LAB.node("a").pod_ip
        ours = [d for d in drops if d["flow"] and d["flow"]["src"] == pod_a]
        acks = [d for d in ours if d["flow"]["proto"] == "tcp" and d["flow"]["dport"] == 8081]
        plain = [d for d in ours if d["flow"]["proto"] == "udp" and d["flow"]["dport"] == 9999]
        # The counts are the same whatever is streamed.
        self.assertEqual(peer(summary, LAB.node("a").underlay_ip)["by_cause"],
                         {"conntrack": self.ACKS, "netfilter": self.PLAIN})
        self.assertEqual(summary["drops"].get("conntrack"), self.ACKS)
        validator = jsonschema.Draft202012Validator(SCHEMA)
        for line in drops + [summary]:
            self.assertEqual(list(validator.iter_errors(line)), [], json.dumps(line))
        return acks, plain, summary

    def test_causes_conntrack_streams_the_drops_their_rule_made_conntracks(self):
        acks, plain, summary = self.run_with("conntrack")
        self.assertEqual(len(acks), self.ACKS)
        for d in acks:
            self.assertEqual((d["cause"], d["reason"], d["flow"]["tcp_flags"]), ("conntrack", "NETFILTER_DROP", "A"))
            self.assertEqual((d["rule"]["chain"], d["rule"]["comment"]), ("FORWARD", "vxlab-ct-invalid"))
            self.assertTrue(d["rule"]["conntrack_invalid"])
        self.assertEqual(plain, [], "netfilter's own drops are not selected")
        # Streamed from the kernel as netfilter, in case their rule was conntrack's: counted.
        self.assertGreaterEqual(summary["events_filtered"], self.PLAIN)

    def test_causes_netfilter_no_longer_streams_conntracks_drops(self):
        acks, plain, summary = self.run_with("netfilter")
        self.assertEqual(acks, [], "their rule made them conntrack's")
        self.assertEqual(len(plain), self.PLAIN)
        for d in plain:
            self.assertEqual((d["cause"], d["rule"]["comment"]), ("netfilter", "vxlab-nf-drop"))
        self.assertGreaterEqual(summary["events_filtered"], self.ACKS)


if __name__ == "__main__":
    unittest.main()
