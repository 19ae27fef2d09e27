"""The rule vxtrace names for a netfilter drop is the rule that dropped it, or none: never a wrong one.

Each test provokes drops by known rules in node b (policies, counter-less native nft rules, verdict
maps, legacy iptables, rules replaced or renamed mid-run, Calico's rules dropping at once), paced
over seconds so that later packets of a flow are traced, and checks every event of node b's
namespace against the rule that really dropped it: named right, or null; never another rule.
Where the rule has a counter, the summary's total must be exact.

Events are kept only when they come from node b's namespace (by inode) and from the stream's own
flow: the kfree_skb tracepoint sees every namespace of the machine, and other labs use the same
pod addresses. Rules carry this run's TAG, so totals are told apart from other runs' (the
summary's totals name no namespace; a Calico chain or a FORWARD policy of a lab running at the
same time would look the same as ours).
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import unittest
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jsonschema

from vxtrace_run import Vxtrace, netns_inode
import calico_rules
import vxlab

UNDERLAY = "203.0.113.0/24"
SCHEMA = jsonschema.Draft202012Validator(json.loads(
    (Path(__file__).resolve().parents[2] / "deploy" / "schema" / "vxtrace-events.schema.json").read_text()))
TAG = f"vxt{secrets.token_hex(3)}"  # in this run's comments, table and chain names
RESULTS: list[tuple[str, str, int, int, int, int]] = []  # scenario, stream, events, named, wrong, unnamed


def setUpModule():
    global LAB
    LAB = vxlab.Lab(underlay=UNDERLAY).up()


def tearDownModule():
    LAB.down()
    if RESULTS:
        print(f"\n{'scenario':34} {'stream':16} {'events':>6} {'named':>6} {'wrong':>6} {'unnamed':>7}",
              file=sys.stderr)
        for row in RESULTS:
            print(f"{row[0]:34} {row[1]:16} {row[2]:6} {row[3]:6} {row[4]:6} {row[5]:7}", file=sys.stderr)


# --------------------------------------------------------------------------- what a rule must look like

def ipt_rule(chain: str, comment: str, table: str = "filter", backend: str = "nftables") -> Callable[[dict], bool]:
    """An iptables rule (iptables-nft, or iptables-legacy) found by its comment."""
    return lambda r: ((r["family"], r["table"], r["chain"], r["comment"], r["backend"], r["policy"])
                      == ("ip", table, chain, comment, backend, False) and r["handle"] > 0)


def policy(chain: str) -> Callable[[dict], bool]:
    """iptables-nft's base chain `chain` in table filter, its policy: handle 0."""
    return lambda r: ((r["family"], r["table"], r["chain"], r["handle"], r["policy"], r["backend"])
                      == ("ip", "filter", chain, 0, True, "nftables"))


def nft_rule(table: str, chain: str, handle: int) -> Callable[[dict], bool]:
    return lambda r: ((r["family"], r["table"], r["chain"], r["handle"], r["policy"], r["backend"])
                      == ("ip", table, chain, handle, False, "nftables"))


@dataclass
class Stream:
    """Datagrams node a sends to node b in VXLAN, each from one flow, and the rule that drops them."""
    name: str
    dport: int
    sport: int
    count: int
    expect: Callable[[dict], bool]
    ip_id: int
    proto: str = "udp"
    inner_src: str | None = None  # default: pod a
    inner_dst: str | None = None  # default: pod b
    tcp_flags: str = "PA"
    every: int = 1                # paced_send: every k-th round
    path: str = ""


class TruthCase(unittest.TestCase):
    def setUp(self):
        self.a, self.b = LAB.node("a"), LAB.receiver
        self.inode = netns_inode(self.b.ns)
        tmp = tempfile.TemporaryDirectory(prefix="vxtruth-")
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        self.addCleanup(vxlab.ns_exec, self.b.ns, ["conntrack", "-F"], check=False)

    # ---- node b's rules, undone even on failure

    def b_exec(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        return vxlab.ns_exec(self.b.ns, list(cmd), check=check)

    def iptables(self, *args: str, undo: list[str] | None = None, cmd: str = "iptables") -> None:
        self.b_exec(cmd, "-w", *args)
        if undo:
            self.addCleanup(self.b_exec, cmd, "-w", *undo, check=False)

    def nft_table(self, name: str, *commands: str) -> None:
        """`ip name` in node b, then each command; the table is deleted on the way out."""
        self.b_exec("nft", "add", "table", "ip", name)
        self.addCleanup(self.b_exec, "nft", "delete", "table", "ip", name, check=False)
        for c in commands:
            self.b_exec("nft", c)

    def nft_handles(self, table: str, chain: str) -> list[int]:
        out = self.b_exec("nft", "-j", "-a", "list", "chain", "ip", table, chain).stdout
        return [o["rule"]["handle"] for o in json.loads(out)["nftables"] if "rule" in o]

    # ---- traffic

    def build(self, *streams: Stream) -> None:
        for s in streams:
            s.path = str(self.tmp / f"{s.name}.pcap")
            LAB.inject("a", "b", count=s.count, proto=s.proto, inner_src=s.inner_src, inner_dst=s.inner_dst,
                       sport=s.sport, dport=s.dport, tcp_flags=s.tcp_flags, payload_len=32, ip_id=s.ip_id,
                       pcap=s.path, dry_run=True)

    def send(self, streams: list[Stream], interval: float, gap: float = 0.003) -> None:
        sent = LAB.paced_send("a", [f"{s.path}@{s.every}" for s in streams], interval, gap)
        self.assertEqual(sent, sum(s.count for s in streams))

    # ---- judging

    def events(self, drops: list[dict], s: Stream) -> list[dict]:
        src, dst = s.inner_src or self.a.pod_ip, s.inner_dst or self.b.pod_ip
        return [d for d in drops if d["reason"] == "NETFILTER_DROP" and d["netns"] == self.inode and d["flow"]
                and (d["flow"]["src"], d["flow"]["dst"], d["flow"]["proto"], d["flow"]["sport"], d["flow"]["dport"])
                == (src, dst, s.proto, s.sport, s.dport)]

    def judge(self, scenario: str, drops: list[dict], streams: list[Stream], slack: int) -> dict[str, list[dict]]:
        """Every stream's datagrams are netfilter drops in node b; none names a wrong rule; all but
        `slack` of each stream are named (a flow's first drops come before it is traced)."""
        found = {s.name: self.events(drops, s) for s in streams}
        rows = []
        for s in streams:
            ev = found[s.name]
            named = [d for d in ev if d["rule"]]
            wrong = [d for d in named if not s.expect(d["rule"])]
            rows.append((s, ev, named, wrong))
            RESULTS.append((scenario, s.name, len(ev), len(named), len(wrong), len(ev) - len(named)))
        for s, ev, named, wrong in rows:
            for d in ev:
                self.assertEqual([e.message for e in SCHEMA.iter_errors(d)], [], json.dumps(d))
            self.assertEqual(len(ev), s.count, f"{s.name}: each datagram one netfilter drop event in node b")
            self.assertEqual(wrong, [], f"{s.name}: a wrong rule named")
            self.assertGreaterEqual(len(named), s.count - slack, f"{s.name}: named {len(named)} of {s.count}")
        return found

    def total(self, summary: dict, expect: Callable[[dict], bool]) -> int:
        found = [r for r in summary["netfilter_rules"] if expect(r) and r["netns"] == netns_inode(self.b.ns)]
        self.assertEqual(len(found), 1, json.dumps(summary["netfilter_rules"]))
        return found[0]["drops"]

    def assert_accounting(self, drops: list[dict], summary: dict) -> None:
        """named by trace + named by counters + unnamed = the netfilter drop events (all namespaces)."""
        self.assertEqual([e.message for e in SCHEMA.iter_errors(summary)], [])
        nf = [d for d in drops if d["reason"] == "NETFILTER_DROP"]
        self.assertEqual(summary["netfilter_named_by_trace"] + summary["netfilter_named_by_counters"]
                         + summary["netfilter_unnamed"], len(nf))

    def trace(self, provoke: Callable[[Vxtrace], None]) -> tuple[list[dict], dict]:
        with Vxtrace(self.b.ns, "--iface", self.b.underlay_dev) as vx:
            provoke(vx)
            drops, summary = vx.stop()
        self.assert_accounting(drops, summary)
        return drops, summary


class RulesNamedRightOrNotAtAll(TruthCase):
    def test_forward_policy_and_input_rule_alternating(self):
        """`iptables -P FORWARD DROP` plus an INPUT rule: 30 datagrams to pod b (the policy drops
        them) alternate with 30 to node b's own address (the rule drops them), 0.1 s apart."""
        comment = f"{TAG}-input"
        self.iptables("-P", "FORWARD", "DROP", undo=["-P", "FORWARD", "ACCEPT"])
        rule = ["INPUT", "-p", "udp", "--dport", "9999", "-m", "comment", "--comment", comment, "-j", "DROP"]
        self.iptables("-A", *rule, undo=["-D", *rule])
        fwd = Stream("forward-policy", 9999, 42001, 30, policy("FORWARD"), ip_id=1000)
        inp = Stream("input-rule", 9999, 42002, 30, ipt_rule("INPUT", comment), ip_id=3000,
                     inner_dst=self.b.underlay_ip)
        self.build(fwd, inp)
        drops, summary = self.trace(lambda vx: self.send([fwd, inp], interval=0.2, gap=0.1))
        found = self.judge("1 FORWARD policy + INPUT rule", drops, [fwd, inp], slack=3)
        self.assertGreaterEqual(sum(1 for ev in found.values() for d in ev if d["rule"]), 60 - 6)
        self.assertEqual(self.total(summary, policy("FORWARD")), 30)
        self.assertEqual(self.total(summary, ipt_rule("INPUT", comment)), 30)

    def test_native_nft_rule_without_counter(self):
        table = f"{TAG}n"
        self.nft_table(table, f'add chain ip {table} fw {{ type filter hook forward priority 0; }}',
                       f'add rule ip {table} fw udp dport 9998 drop')
        [handle] = self.nft_handles(table, "fw")
        s = Stream("nft-no-counter", 9998, 42011, 10, nft_rule(table, "fw", handle), ip_id=5000)
        self.build(s)
        drops, summary = self.trace(lambda vx: self.send([s], interval=0.1))
        self.judge("2 native nft rule, no counter", drops, [s], slack=2)
        self.assertEqual([r for r in summary["netfilter_rules"] if r["table"] == table], [],
                         "a rule without a counter has no total")

    def test_verdict_map(self):
        table = f"{TAG}m"
        self.nft_table(table, f'add chain ip {table} fw {{ type filter hook forward priority 0; }}',
                       f'add rule ip {table} fw udp dport vmap {{ 9997 : drop }}')
        [handle] = self.nft_handles(table, "fw")
        s = Stream("nft-vmap", 9997, 42021, 10, nft_rule(table, "fw", handle), ip_id=6000)
        self.build(s)
        drops, summary = self.trace(lambda vx: self.send([s], interval=0.1))
        self.judge("3 nft verdict map", drops, [s], slack=2)
        self.assertEqual([r for r in summary["netfilter_rules"] if r["table"] == table], [])

    def test_legacy_iptables_named_by_counters(self):
        comment = f"{TAG}-legacy"
        rule = ["INPUT", "-p", "udp", "--dport", "9996", "-m", "comment", "--comment", comment, "-j", "DROP"]
        self.iptables("-A", *rule, undo=["-D", *rule], cmd="iptables-legacy")
        expect = ipt_rule("INPUT", comment, backend="iptables-legacy")
        s = Stream("legacy", 9996, 42031, 10, expect, ip_id=7000, inner_dst=self.b.underlay_ip)
        self.build(s)
        drops, summary = self.trace(lambda vx: self.send([s], interval=0.2))
        # Counters name every drop whose window no other drop landed in: one may share its
        # window with a reading under load (a busy machine's other drops are in the same ring).
        self.judge("4 legacy iptables (counters)", drops, [s], slack=1)
        self.assertEqual(self.total(summary, expect), 10)
        self.assertGreaterEqual(summary["netfilter_named_by_counters"], 9)

    def test_legacy_and_nft_rules_at_once(self):
        """A legacy rule and an iptables-nft rule drop in turn: traces name the nft rule's drops,
        and with those taken out the legacy rule's counter alone explains the rest."""
        lc, nc = f"{TAG}-leg2", f"{TAG}-nft2"
        legacy = ["INPUT", "-p", "udp", "--dport", "9987", "-m", "comment", "--comment", lc, "-j", "DROP"]
        nft = ["INPUT", "-p", "udp", "--dport", "9986", "-m", "comment", "--comment", nc, "-j", "DROP"]
        self.iptables("-A", *legacy, undo=["-D", *legacy], cmd="iptables-legacy")
        self.iptables("-A", *nft, undo=["-D", *nft])
        streams = [Stream("legacy", 9987, 42035, 15, ipt_rule("INPUT", lc, backend="iptables-legacy"), ip_id=7500,
                          inner_dst=self.b.underlay_ip),
                   Stream("iptables-nft", 9986, 42036, 15, ipt_rule("INPUT", nc), ip_id=7700,
                          inner_dst=self.b.underlay_ip)]
        self.build(*streams)
        drops, summary = self.trace(lambda vx: self.send(streams, interval=0.2, gap=0.1))
        self.judge("4b legacy + iptables-nft in turn", drops, streams, slack=4)
        for s in streams:
            self.assertEqual(self.total(summary, s.expect), 15, s.name)

    def test_rule_replaced_in_place_total_exact(self):
        """`iptables -R` mid-run, same match: the rule's total spans both rules."""
        comment = f"{TAG}-replace"
        spec = ["-p", "udp", "--dport", "9995", "-m", "comment", "--comment", comment, "-j", "DROP"]
        self.iptables("-A", "INPUT", *spec, undo=["-D", "INPUT", *spec])
        expect = ipt_rule("INPUT", comment)
        before = Stream("before-R", 9995, 42041, 20, expect, ip_id=8000, inner_dst=self.b.underlay_ip)
        after = Stream("after-R", 9995, 42042, 20, expect, ip_id=8100, inner_dst=self.b.underlay_ip)
        self.build(before, after)
        handles = []

        def provoke(vx):
            self.send([before], interval=0.05)
            time.sleep(0.3)
            lines = self.b_exec("iptables", "-w", "-L", "INPUT", "-n", "--line-numbers").stdout.splitlines()
            [num] = [ln.split()[0] for ln in lines if comment in ln]
            handles.append(self.nft_handles("filter", "INPUT"))
            self.b_exec("iptables", "-w", "-R", "INPUT", num, *spec)
            handles.append(self.nft_handles("filter", "INPUT"))
            self.send([after], interval=0.05)
        drops, summary = self.trace(provoke)
        print(f"\n  iptables -R: INPUT handles {handles[0]} -> {handles[1]}", file=sys.stderr)
        self.judge("5 iptables -R mid-run", drops, [before, after], slack=3)
        self.assertEqual(self.total(summary, expect), 40)

    def test_rule_replaced_by_another_names_the_new_one(self):
        """`iptables -R` with another comment (same handle): the drops after it are the new rule's."""
        old, new = f"{TAG}-old", f"{TAG}-new"
        spec = lambda c: ["-p", "udp", "--dport", "9988", "-m", "comment", "--comment", c, "-j", "DROP"]  # noqa: E731
        self.iptables("-A", "INPUT", *spec(old), undo=["-D", "INPUT", *spec(old)])
        self.addCleanup(self.b_exec, "iptables", "-w", "-D", "INPUT", *spec(new), check=False)
        before = Stream("before-R", 9988, 42045, 10, ipt_rule("INPUT", old), ip_id=8200, inner_dst=self.b.underlay_ip)
        after = Stream("after-R", 9988, 42046, 10, ipt_rule("INPUT", new), ip_id=8300, inner_dst=self.b.underlay_ip)
        self.build(before, after)

        def provoke(vx):
            self.send([before], interval=0.05)
            time.sleep(0.3)
            lines = self.b_exec("iptables", "-w", "-L", "INPUT", "-n", "--line-numbers").stdout.splitlines()
            [num] = [ln.split()[0] for ln in lines if old in ln]
            self.b_exec("iptables", "-w", "-R", "INPUT", num, *spec(new))
            self.send([after], interval=0.05)
        drops, summary = self.trace(provoke)
        self.judge("5b iptables -R, another comment", drops, [before, after], slack=3)

    def test_chain_renamed_total_exact(self):
        """A rule in a user chain jumped to from INPUT drops 15; `iptables -E` renames the chain; 10 more."""
        old, new, comment = f"{TAG}-c", f"{TAG}-d", f"{TAG}-chain"
        self.iptables("-N", old, undo=["-X", old])
        self.addCleanup(self.b_exec, "iptables", "-w", "-X", new, check=False)
        self.addCleanup(self.b_exec, "iptables", "-w", "-F", new, check=False)
        drop = ["-p", "udp", "--dport", "9994", "-m", "comment", "--comment", comment, "-j", "DROP"]
        self.iptables("-A", old, *drop, undo=["-F", old])
        jump = ["INPUT", "-p", "udp", "--dport", "9994", "-m", "comment", "--comment", f"{TAG}-jump", "-j", old]
        self.iptables("-A", *jump, undo=["-D", *jump])
        jump_new = [*jump[:-1], new]
        self.addCleanup(self.b_exec, "iptables", "-w", "-D", *jump_new, check=False)
        before = Stream("before-E", 9994, 42051, 15, ipt_rule(old, comment), ip_id=9000,
                        inner_dst=self.b.underlay_ip)
        after = Stream("after-E", 9994, 42052, 10, ipt_rule(new, comment), ip_id=9100,
                       inner_dst=self.b.underlay_ip)
        self.build(before, after)

        def provoke(vx):
            self.send([before], interval=0.05)
            time.sleep(0.3)
            self.b_exec("iptables", "-w", "-E", old, new)
            self.send([after], interval=0.05)
        drops, summary = self.trace(provoke)
        self.judge("6 iptables -E mid-run", drops, [before, after], slack=3)
        totals = [r for r in summary["netfilter_rules"] if r["comment"] == comment]
        self.assertEqual([r["drops"] for r in totals], [25], json.dumps(totals))

    def test_calico_drops_concurrently(self):
        """A policy drop, a raw-table drop and INVALID bare ACKs, three streams at once for 2 s."""
        rules = calico_rules.CalicoRules(self.b, LAB.cfg.pod_net)
        rules.__enter__()
        self.addCleanup(rules.__exit__, None, None, None)
        loose = "net/netfilter/nf_conntrack_tcp_loose"  # 0: a bare ACK of no known flow is INVALID
        self.addCleanup(vxlab.sysctl, self.b.ns, {loose: vxlab.read_sysctl(self.b.ns, loose)})
        vxlab.sysctl(self.b.ns, {loose: 0})
        tw = rules.tw_chain
        profile = ipt_rule(tw, f"cali:{calico_rules.PROFILE_ID} {calico_rules.PROFILE_COMMENT}")
        raw = ipt_rule("cali-PREROUTING", f"cali:{calico_rules.RAW_ID} {calico_rules.RAW_COMMENT}", table="raw")
        invalid_rule = ipt_rule(tw, f"cali:{calico_rules.INVALID_ID}")
        invalid = lambda r: invalid_rule(r) and r["conntrack_invalid"]  # noqa: E731
        streams = [Stream("policy", 7777, 42061, 20, profile, ip_id=10000),
                   Stream("raw-spoofed", 7778, 42062, 20, raw, ip_id=11000, inner_src="10.99.0.5"),
                   Stream("invalid-ack", 8081, 42063, 10, invalid, ip_id=12000, proto="tcp", tcp_flags="A",
                          every=2)]
        self.build(*streams)
        drops, summary = self.trace(lambda vx: self.send(streams, interval=0.1))
        found = self.judge("7 Calico: policy+raw+INVALID", drops, streams, slack=3)
        # An INVALID drop named by its rule is conntrack's; an unnamed one cannot be told apart.
        self.assertEqual([d for d in found["invalid-ack"] if d["rule"] and d["cause"] != "conntrack"], [])
        self.assertEqual({d["cause"] for d in found["policy"] + found["raw-spoofed"]}, {"netfilter"})
        self.assertEqual(self.total(summary, profile), 20)
        self.assertEqual(self.total(summary, raw), 20)
        self.assertEqual(self.total(summary, invalid), 10)

    def test_three_rules_interleaved(self):
        """50 rounds: one datagram to each of three ports, each dropped by its own rule, ms apart."""
        streams = []
        for i, port in enumerate((9981, 9982, 9983)):
            comment = f"{TAG}-r{i}"
            rule = ["INPUT", "-p", "udp", "--dport", str(port), "-m", "comment", "--comment", comment, "-j", "DROP"]
            self.iptables("-A", *rule, undo=["-D", *rule])
            streams.append(Stream(f"rule-{port}", port, 42071 + i, 50, ipt_rule("INPUT", comment),
                                  ip_id=13000 + 1000 * i, inner_dst=self.b.underlay_ip))
        self.build(*streams)
        drops, summary = self.trace(lambda vx: self.send(streams, interval=0.1))
        found = self.judge("8 three rules interleaved", drops, streams, slack=6)
        self.assertGreaterEqual(sum(1 for ev in found.values() for d in ev if d["rule"]), 150 - 6)
        for s in streams:
            self.assertEqual(self.total(summary, s.expect), 50, s.name)


def nsfs_fds(pid: int) -> list[str]:
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if link.startswith("net:["):
            out.append(f"{fd} -> {link}")
    return out


class Lifetimes(TruthCase):
    def test_deleted_namespaces_are_freed_while_vxtrace_runs(self):
        """20 namespaces with a dropping rule each and a veth into node b: vxtrace reads their
        rules for their drops, and once they are deleted nothing of vxtrace keeps them alive."""
        names = [f"{LAB.prefix}-x{i:02d}" for i in range(20)]
        comment = f"{TAG}-x"
        for i, ns in enumerate(names):
            vxlab.run(["ip", "netns", "add", ns])
            self.addCleanup(vxlab.run, ["ip", "netns", "del", ns], check=False)
            vxlab.ip_batch(self.b.ns, [f"link add tx{i:02d} type veth peer name eth0 netns {ns}",
                                       f"link set tx{i:02d} up"])
            self.addCleanup(vxlab.run, ["ip", "-n", self.b.ns, "link", "del", f"tx{i:02d}"], check=False)
            vxlab.ip_batch(ns, ["link set lo up", f"addr add 10.252.{i}.1/24 dev eth0", "link set eth0 up"])
            vxlab.ns_exec(ns, ["iptables", "-w", "-A", "OUTPUT", "-p", "udp", "--dport", "9990",
                               "-m", "comment", "--comment", comment, "-j", "DROP"])
        inodes = {netns_inode(ns): ns for ns in names}

        def provoke(vx):
            pid = vx.proc.pid
            self.assertEqual(Path(f"/proc/{pid}/comm").read_text().strip(), "vxtrace")
            for i, ns in enumerate(names):
                vxlab.ns_exec(ns, ["bash", "-c", f"for k in 1 2 3; do echo x >/dev/udp/10.252.{i}.2/9990; "
                                                 "sleep 0.05; done"], check=False)
            seen = vx.wait_for(lambda: set(inodes) <= {d["netns"] for d in vx.of_type("drop")}, 10)
            self.assertTrue(seen, "vxtrace saw a drop in every namespace")
            time.sleep(0.5)  # readings of every namespace
            self.assertEqual(nsfs_fds(pid), [], "a namespace held open while vxtrace runs")
            for ns in names:
                vxlab.run(["ip", "netns", "del", ns])
            def peers_left() -> list[str]:
                return [f"tx{i:02d}" for i in range(len(names)) if vxlab.run(
                    ["ip", "-n", self.b.ns, "link", "show", f"tx{i:02d}"], check=False).returncode == 0]
            vx.wait_for(lambda: not peers_left(), 10, step=0.2)
            self.assertEqual(peers_left(), [], "deleted namespaces still alive: their veth peers remain")
            self.assertEqual(nsfs_fds(pid), [])
            self.assertIsNone(vx.proc.poll(), "vxtrace still running")
        drops, summary = self.trace(provoke)
        ev = [d for d in drops if d["netns"] in inodes and d["reason"] == "NETFILTER_DROP"]
        named = [d for d in ev if d["rule"]]
        wrong = [d for d in named if not ipt_rule("OUTPUT", comment)(d["rule"])]
        RESULTS.append(("9 20 namespaces, deleted", "output-rule", len(ev), len(named), len(wrong),
                        len(ev) - len(named)))
        self.assertEqual(len(ev), 60)
        self.assertEqual(wrong, [])

    def table_lifetime(self, end: Callable[[Vxtrace], None]) -> None:
        comment = f"{TAG}-table"
        rule = ["INPUT", "-p", "udp", "--dport", "9989", "-m", "comment", "--comment", comment, "-j", "DROP"]
        self.iptables("-A", *rule, undo=["-D", *rule])
        s = Stream("table", 9989, 42081, 3, ipt_rule("INPUT", comment), ip_id=20000, inner_dst=self.b.underlay_ip)
        self.build(s)

        def tables() -> list[str]:
            return [ln.split()[-1] for ln in self.b_exec("nft", "list", "tables").stdout.splitlines()]
        with Vxtrace(self.b.ns, "--iface", self.b.underlay_dev) as vx:
            own = f"vxtrace_{vx.proc.pid}"
            self.send([s], interval=0.05)
            self.assertTrue(vx.wait_for(lambda: own in tables(), 5), f"{own} not made: {tables()}")
            end(vx)
        left = vx.wait_for(lambda: not [t for t in tables() if t.startswith("vxtrace_")], 5)
        self.assertTrue(left, f"left behind: {tables()}")

    def test_table_removed_on_exit(self):
        self.table_lifetime(lambda vx: vx.stop())

    def test_table_removed_on_sigkill(self):
        self.table_lifetime(lambda vx: vx.kill())


if __name__ == "__main__":
    unittest.main()
