"""/metrics scraped while drops are provoked shows exact per-peer counts; the exposition
passes promtool's lint; health and readiness answer; the per-peer cap holds."""
from __future__ import annotations

import subprocess
import threading
import unittest

from agent_run import POD_NET, UNDERLAY, Agent, http_get, metric
import vxlab
from vxtrace_run import netns_inode


def setUpModule():
    global LAB
    LAB = vxlab.Lab(underlay=UNDERLAY, pod_net=POD_NET).up()


def tearDownModule():
    LAB.down()


def peer_values(samples: dict, ip: str) -> tuple:
    return (metric(samples, "vxtrace_peer_rx_packets_total", peer=ip),
            metric(samples, "vxtrace_peer_drops_total", peer=ip, cause="checksum"),
            metric(samples, "vxtrace_peer_decapsulated_packets_total", peer=ip))


class Metrics(unittest.TestCase):
    def setUp(self):
        self.b, self.a, self.c = LAB.receiver, LAB.node("a"), LAB.node("c")

    def test_scrape_during_provoked_drops_shows_exact_counts(self):
        with Agent(self.b.ns, "-i", "eth0") as ag:
            scrapes, done = [], threading.Event()

            def scrape_loop():
                for _ in range(400):  # bounded
                    if done.is_set():
                        return
                    scrapes.append(ag.metrics())

            t = threading.Thread(target=scrape_loop)
            t.start()
            try:
                res = LAB.run_scenario("outer_csum", count=1000, bad=37)
            finally:
                done.set()
                t.join(30)
            self.assertTrue(res["ok"], res["checks"])
            final = ag.wait_for(lambda: (m := ag.metrics()) and
                                peer_values(m, self.a.underlay_ip) == (1000, 37, 963) and m, 5)
            code, _ = ag.stop()
        self.assertEqual(code, 0, ag.stderr)
        self.assertTrue(final, "exact counts after the scenario")
        self.assertEqual(peer_values(final, self.a.underlay_ip), (1000, 37, 963))
        self.assertEqual(peer_values(final, self.c.underlay_ip), (1000, 0, 1000))
        self.assertGreaterEqual(metric(final, "vxtrace_drops_total", cause="checksum", reason="UDP_CSUM"), 37)
        self.assertEqual(metric(final, "vxtrace_node_info", node=ag.of_type("start")[0]["node"],
                                underlay_ip=self.b.underlay_ip), 1)
        # Scrapes during the drops: counters only ever grow, and never past the truth.
        self.assertGreater(len(scrapes), 2)
        seen = [peer_values(s, self.a.underlay_ip) for s in scrapes]
        seen = [tuple(v or 0 for v in s) for s in seen]
        for before, after in zip(seen, seen[1:]):
            self.assertTrue(all(x <= y for x, y in zip(before, after)), (before, after))
        self.assertTrue(all(s[0] <= 1000 and s[1] <= 37 for s in seen))
        summary = ag.of_type("summary")[-1]
        a = [p for p in summary["peers"] if p["peer"] == self.a.underlay_ip][0]
        self.assertEqual((a["rx_packets"], a["drops"]), (1000, 37), "the JSON summary agrees")

    def test_netfilter_rule_drops_are_exported_per_rule(self):
        with Agent(self.b.ns, "-i", "eth0") as ag:
            res = LAB.run_scenario("nf_drop", count=50)
            self.assertTrue(res["ok"], res["checks"])
            # Node b's own rules: another lab on this machine has its own namespace.
            netns = str(netns_inode(self.b.ns))
            labels = dict(family="ip", table="filter", chain="FORWARD", comment="vxlab-nf-drop",
                          conntrack_invalid="false", backend="nftables", netns=netns)

            def ours(m):
                return {k: v for k, v in m.items()
                        if k[0] == "vxtrace_netfilter_rule_drops_total" and ("netns", netns) in k[1]}
            # The loop reads the rulesets every 5 s.
            final = ag.wait_for(lambda: (m := ag.metrics()) and sum(ours(m).values()) == 50 and m, 8)
            code, _ = ag.stop()
        self.assertEqual(code, 0, ag.stderr)
        series = ours(final)
        self.assertEqual(len(series), 1, series)
        key, value = next(iter(series.items()))
        self.assertEqual(value, 50)
        self.assertTrue(set(labels.items()) <= set(key[1]), key)

    def test_conntrack_by_rule_counts_for_its_peer(self):
        """Bare ACKs a `--ctstate INVALID -j DROP` rule dropped are conntrack's for their sending
        peer in /metrics, as in the agent's own summary line (the kernel counts them netfilter)."""
        a = self.a.underlay_ip
        with Agent(self.b.ns, "-i", "eth0") as ag:
            res = LAB.run_scenario("ct_invalid", count=10, tcp_flags="A", tcp_loose=0)
            self.assertTrue(res["ok"], res["checks"])
            final = ag.wait_for(lambda: (m := ag.metrics()) and
                                metric(m, "vxtrace_peer_drops_total", peer=a, cause="conntrack") == 10 and m, 5)
            last = final or ag.metrics()
            code, _ = ag.stop()
        self.assertEqual(code, 0, ag.stderr)
        self.assertTrue(final, {k: v for k, v in last.items() if k[0] == "vxtrace_peer_drops_total"})
        self.assertEqual(metric(final, "vxtrace_peer_drops_total", peer=a, cause="netfilter"), 0)
        self.assertEqual(metric(final, "vxtrace_events_filtered_total"), 0, "the default selects both")
        summary = ag.of_type("summary")[-1]
        by_cause = [p for p in summary["peers"] if p["peer"] == a][0]["by_cause"]
        self.assertEqual(by_cause, {"conntrack": 10}, "the JSON summary agrees")

    def test_exposition_passes_promtool_lint(self):
        with Agent(self.b.ns, "-i", "eth0") as ag:
            LAB.inject("a", "b", count=10, dport=7)
            text = ag.metrics_text()
            ag.stop()
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual(lint.returncode, 0, lint.stdout + lint.stderr)
        for family in ("vxtrace_drops_total", "vxtrace_peer_rx_packets_total", "vxtrace_peer_drops_total",
                       "vxtrace_lost_events_total", "vxtrace_device_attached", "vxtrace_build_info",
                       "process_resident_memory_bytes"):
            self.assertIn(f"# TYPE {family} ", text)

    def test_health_and_readiness(self):
        with Agent(self.b.ns, "-i", "eth0") as ag:
            self.assertEqual(http_get(self.b.ns, "/healthz"), (200, "ok\n"))
            self.assertEqual(http_get(self.b.ns, "/readyz"), (200, "ready\n"))
            self.assertEqual(http_get(self.b.ns, "/nope")[0], 404)
            ag.stop()

    def test_not_ready_while_the_underlay_is_missing(self):
        with Agent(self.b.ns, "-i", "eth9") as ag:
            self.assertEqual(http_get(self.b.ns, "/readyz")[0], 503)
            self.assertEqual(http_get(self.b.ns, "/healthz")[0], 200, "alive, just not ready")
            LAB.ns_exec(self.b.ns, ["ip", "link", "add", "eth9", "type", "veth", "peer", "name", "eth9p"])
            try:
                self.assertTrue(ag.wait_for(lambda: http_get(self.b.ns, "/readyz")[0] == 200, 3))
            finally:
                LAB.ns_exec(self.b.ns, ["ip", "link", "del", "eth9"])
            self.assertTrue(ag.wait_for(lambda: http_get(self.b.ns, "/readyz")[0] == 503, 3))
            ag.stop()

    def test_peer_series_are_capped_worst_first(self):
        with Agent(self.b.ns, "-i", "eth0", "--metrics-max-peers", "1") as ag:
            LAB.run_scenario("outer_csum", count=200, bad=5)
            m = ag.wait_for(lambda: (m := ag.metrics()) and
                            metric(m, "vxtrace_peers", state="seen") == 2 and m, 5)
            ag.stop()
        self.assertTrue(m, ag.metrics_text() if ag.proc.poll() is None else ag.stderr)
        self.assertEqual(metric(m, "vxtrace_peers", state="exported"), 1)
        self.assertEqual(peer_values(m, self.a.underlay_ip), (200, 5, 195), "the dropping peer is kept")
        self.assertIsNone(metric(m, "vxtrace_peer_rx_packets_total", peer=self.c.underlay_ip))


if __name__ == "__main__":
    unittest.main()
