"""Every seed's failure mode, provoked for real in the lab, attributed by vxtrace.

One lab for the module (scenarios undo their own changes); a fresh vxtrace per
test inside node b, started before the drops and stopped after, so each test's
counts are its own. The underlay is 198.51.100.0/24 so per-peer counts cannot mix
with another lab running on the same machine.
"""
from __future__ import annotations

import subprocess
import unittest

from vxtrace_run import Vxtrace, netns_inode, peer
import vxlab

UNDERLAY = "198.51.100.0/24"


def setUpModule():
    global LAB
    LAB = vxlab.Lab(underlay=UNDERLAY).up()


def tearDownModule():
    LAB.down()


class DropScenarios(unittest.TestCase):
    def trace(self, scenario: str, **kw) -> tuple[dict, list[dict], dict]:
        b = LAB.receiver
        with Vxtrace(b.ns, "--iface", b.underlay_dev) as vx:
            self.assertEqual([a["ifname"] for a in vx.start["attached"]], ["eth0", "vxlan.calico", "*"])
            res = LAB.run_scenario(scenario, **kw)
            drops, summary = vx.stop()
        self.assertTrue(res["ok"], f"the lab did not provoke the drops: {res['checks']}")
        return res, drops, summary

    def matching(self, drops: list[dict], expect: dict, cause: str) -> list[dict]:
        """Our scenario's drops: its reason, cause, and inner flow."""
        inner = expect["inner"]
        return [d for d in drops if d["reason"] == expect["reason"] and d["cause"] == cause
                and d["flow"] and all(d["flow"][k] == inner[k] for k in ("src", "dst", "proto", "sport", "dport"))]

    def assert_tunnel(self, drop: dict, source: str, vni: int = 4096, sender: str = "a"):
        self.assertEqual(drop["tunnel"]["peer"], LAB.node(sender).underlay_ip)
        self.assertEqual(drop["tunnel"]["local"], LAB.receiver.underlay_ip)
        self.assertEqual(drop["tunnel"]["vni"], vni)
        self.assertEqual(drop["tunnel"]["source"], source)

    def test_outer_checksum_singles_out_the_bad_sending_node(self):
        res, drops, summary = self.trace("outer_csum", count=1000, bad=37)
        exp = res["expect"]
        ours = self.matching(drops, exp, "checksum")
        self.assertEqual(len(ours), 37)
        self.assertEqual(sorted(int(d["flow"]["sport"]) for d in ours), [exp["inner"]["sport"]] * 37)
        for d in ours:
            self.assert_tunnel(d, "outer")
            self.assertEqual(d["ifname"], "eth0")
            self.assertEqual(d["netns"], netns_inode(LAB.receiver.ns))
            self.assertTrue(d["location"].startswith("udp_queue_rcv_one_skb+"), d["location"])
        a, c = peer(summary, LAB.node("a").underlay_ip), peer(summary, LAB.node("c").underlay_ip)
        self.assertEqual((a["rx_packets"], a["drops"], a["by_cause"]), (1000, 37, {"checksum": 37}))
        self.assertAlmostEqual(a["drop_ratio"], 0.037)
        self.assertAlmostEqual(a["ratio_by_cause"]["checksum"], 0.037)
        self.assertEqual(a["decapsulated"], 963)
        self.assertEqual((c["rx_packets"], c["drops"], c["decapsulated"]), (1000, 0, 1000))
        self.assertEqual(summary["peers"][0]["peer"], LAB.node("a").underlay_ip, "worst node first")
        self.assertGreaterEqual(summary["reasons"]["UDP_CSUM"], 37)
        # What the tc programs saw: both senders' 2,000 datagrams at the underlay (no GRO on the
        # lab's veth), among other packets; at least the 1,963 good ones on vxlan.calico.
        self.assertEqual(summary["underlay_vxlan_packets"], 2000)
        self.assertGreaterEqual(summary["underlay_packets"], 2000)
        self.assertGreaterEqual(summary["overlay_packets"], 1963)
        self.assertGreaterEqual(summary["drops_parsed"], 37)

    def check_inner_checksum(self, proto: str, reason: str, location: str, netns_source: str):
        res, drops, summary = self.trace(f"inner_csum_{proto}")
        exp = res["expect"]
        ours = self.matching(drops, exp, "checksum")
        self.assertEqual(len(ours), 50)
        for d in ours:
            self.assertEqual(d["reason"], reason)
            self.assert_tunnel(d, "joined")
            self.assertEqual(d["tunnel"]["rx_csum"], "software")
            self.assertEqual(d["netns"], netns_inode(LAB.receiver.pod_ns), "dropped in the pod")
            self.assertEqual(d["netns_source"], netns_source)
            self.assertTrue(d["location"].startswith(location + "+"), d["location"])
        a = peer(summary, LAB.node("a").underlay_ip)
        self.assertEqual((a["rx_packets"], a["drops"], a["by_cause"]), (50, 50, {"checksum": 50}))
        self.assertEqual(a["decapsulated"], 50, "the outer was fine: all reached vxlan.calico")

    def test_inner_tcp_checksum_in_the_pod_is_joined_to_its_tunnel(self):
        # tcp_v4_rcv cleared skb->dev: the netns comes from the listening socket (rx_sk).
        self.check_inner_checksum("tcp", "TCP_CSUM", "tcp_v4_do_rcv", "socket")

    def test_inner_udp_checksum_at_read_time_is_joined_to_its_tunnel(self):
        # Checked in recvmsg, in the reading process; the skb names no device or socket.
        self.check_inner_checksum("udp", "UDP_CSUM", "udp_recvmsg", "task")

    def check_joined(self, scenario: str, cause: str, reason: str, **fields) -> list[dict]:
        """An inner packet dropped on node b after decapsulation, joined to node a's tunnel."""
        res, drops, summary = self.trace(scenario)
        exp = res["expect"]
        ours = self.matching(drops, exp, cause)
        self.assertEqual(len(ours), exp["count"])
        for d in ours:
            self.assertEqual(d["reason"], reason)
            self.assertEqual(d["netns"], netns_inode(LAB.receiver.ns))
            self.assertEqual({k: d[k] for k in fields}, fields)
            self.assert_tunnel(d, "joined")
        self.assertEqual(peer(summary, LAB.node("a").underlay_ip)["by_cause"], {cause: exp["count"]})
        return ours

    def test_rp_filter_strict_on_vxlan_device_despite_all_zero(self):
        self.check_joined("rp_filter", "rp_filter", "IP_RPFILTER", ifname="vxlan.calico")

    def test_conntrack_invalid_dropped_by_rule_is_conntrack(self):
        """Conntrack's by its rule where vxtrace is certain of the rule; a drop of the burst whose
        rule stays unknown (before the flow is traced, in a counter window a reading landed in)
        stays netfilter with rule null, never another rule. The rule's own total is exact."""
        res, drops, summary = self.trace("ct_invalid")
        exp = res["expect"]
        named, unnamed = self.matching(drops, exp, "conntrack"), self.matching(drops, exp, "netfilter")
        self.assertEqual(len(named) + len(unnamed), exp["count"])
        for d in named + unnamed:
            self.assertEqual((d["reason"], d["ct_state"], d["flow"]["tcp_flags"]), ("NETFILTER_DROP", "none", "FS"))
            self.assertEqual(d["netns"], netns_inode(LAB.receiver.ns))
            self.assert_tunnel(d, "joined")
        for d in named:
            self.assertEqual((d["rule"]["comment"], d["rule"]["conntrack_invalid"]), ("vxlab-ct-invalid", True))
        self.assertTrue(all(d["rule"] is None for d in unnamed), unnamed)
        by_cause = peer(summary, LAB.node("a").underlay_ip)["by_cause"]
        self.assertEqual((by_cause.get("conntrack", 0), by_cause.get("netfilter", 0)), (len(named), len(unnamed)))
        total = [r for r in summary["netfilter_rules"]
                 if r["comment"] == "vxlab-ct-invalid" and r["netns"] == netns_inode(LAB.receiver.ns)]
        self.assertEqual([r["drops"] for r in total], [exp["count"]])
        self.assertEqual(summary["drops"].get("conntrack"), exp["count"], "the rule's counter is exact")

    def test_plain_netfilter_rule_drop_is_netfilter(self):
        self.check_joined("nf_drop", "netfilter", "NETFILTER_DROP", ct_state="new")

    def test_unknown_vni(self):
        res, drops, summary = self.trace("unknown_vni")
        exp = res["expect"]
        ours = self.matching(drops, exp, "vxlan")
        self.assertEqual(len(ours), exp["count"])
        for d in ours:
            self.assertEqual(d["reason"], "VXLAN_VNI_NOT_FOUND")
            self.assert_tunnel(d, "outer", vni=999)
            self.assertEqual(d["ifname"], "eth0")
        a = peer(summary, LAB.node("a").underlay_ip)
        self.assertEqual((a["rx_packets"], a["decapsulated"], a["by_cause"]),
                         (exp["count"], 0, {"vxlan": exp["count"]}))

    def test_healthy_overlay_has_no_drops(self):
        res, drops, summary = self.trace("healthy")
        lab_netns = {netns_inode(ns) for ns in LAB.namespaces}
        self.assertEqual([d for d in drops if d["netns"] in lab_netns], [])
        a = peer(summary, LAB.node("a").underlay_ip)
        self.assertGreater(a["rx_packets"], 0)
        self.assertEqual(a["drops"], 0)
        self.assertEqual(a["decapsulated"], a["rx_packets"])


    def test_each_node_counts_only_the_drops_addressed_to_it(self):
        """kfree_skb sees every namespace on the kernel: with the nodes in namespaces (as in kind),
        a drop at node c is not node b's, and b must not count it against the sender."""
        a, b, c = (LAB.node(n) for n in "abc")
        with Vxtrace(b.ns, "--iface", b.underlay_dev) as vb, Vxtrace(c.ns, "--iface", c.underlay_dev) as vc:
            LAB.inject("a", "b", count=20, bad_outer_csum=20, dport=5000, sport=40500)
            LAB.inject("a", "c", count=30, bad_outer_csum=30, dport=5000, sport=40600)
            _, at_b = vb.stop()
            _, at_c = vc.stop()
        pb, pc = peer(at_b, a.underlay_ip), peer(at_c, a.underlay_ip)
        self.assertEqual((pb["rx_packets"], pb["drops"], pb["by_cause"]), (20, 20, {"checksum": 20}))
        self.assertEqual((pc["rx_packets"], pc["drops"], pc["by_cause"]), (30, 30, {"checksum": 30}))
        self.assertEqual(at_b["peer_drops_elsewhere"], 30)
        self.assertEqual(at_c["peer_drops_elsewhere"], 20)

    def test_gro_merged_packets_are_counted_as_packets(self):
        """vxlan.calico's gro_cells merge a bulk TCP flow's segments: tc sees fewer skbs than
        packets arrived, and the per-peer counts must still match the devices' own."""
        b, nbytes = LAB.receiver, 2_000_000
        sink = ("import socket;l=socket.socket();l.bind(('0.0.0.0',8089));l.listen(1);print('READY',flush=True)\n"
                "c,_=l.accept();n=0\nwhile True:\n d=c.recv(1<<16)\n if not d: break\n n+=len(d)\nprint(n)")
        send = ("import socket,sys;s=socket.create_connection((sys.argv[1],8089),timeout=5);"
                "s.sendall(b'x'*int(sys.argv[2]));s.close()")
        # Node a segments before encapsulating, as a sender whose NIC puts MTU-sized frames on
        # the wire; without it veth carries the sender's GSO skbs whole and nothing is merged.
        a_ns = LAB.node("a").ns
        LAB.ns_exec(a_ns, ["ethtool", "-K", "vxlan.calico", "tso", "off", "gso", "off"])
        self.addCleanup(LAB.ns_exec, a_ns, ["ethtool", "-K", "vxlan.calico", "tso", "on", "gso", "on"])
        reader = subprocess.Popen(["ip", "netns", "exec", b.pod_ns, vxlab.PYTHON, "-c", sink],
                                  stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(reader.stdout.readline().strip(), "READY")
            vx0 = vxlab.link_stats(b.ns, "vxlan.calico")
            with Vxtrace(b.ns, "--iface", b.underlay_dev) as vx:
                LAB.pod_exec("a", [vxlab.PYTHON, "-c", send, b.pod_ip, str(nbytes)], timeout=10)
                self.assertEqual(int(reader.communicate(timeout=10)[0].strip()), nbytes)
                drops, summary = vx.stop()
        finally:
            reader.kill()
            reader.wait()
        received = vxlab.link_stats(b.ns, "vxlan.calico")["rx_packets"] - vx0["rx_packets"]
        a = peer(summary, LAB.node("a").underlay_ip)
        self.assertGreater(received, 1000)
        # Every VXLAN packet from a was decapsulated (eth0's own counter also sees the odd ARP).
        self.assertEqual((a["decapsulated"], a["rx_packets"]), (received, received), f"peer a: {a}")

if __name__ == "__main__":
    unittest.main()
