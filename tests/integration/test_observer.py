"""vxtrace is an observer: traffic passes unchanged, other tc programs keep running,
and nothing of vxtrace's is left attached once it exits, even after SIGKILL (tcx)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import unittest

from vxtrace_run import ROOT, Vxtrace, peer, prog_exists, wait_gone
import vxlab

UNDERLAY = "203.0.113.0/24"
PEER_TC_PROG = os.environ.get("PEER_TC_PROG", str(ROOT / "build" / "bpf" / "peer_tc_counter.bpf.o"))


def setUpModule():
    global LAB
    LAB = vxlab.Lab(underlay=UNDERLAY).up()


def tearDownModule():
    LAB.down()


def tc(*args: str) -> str:
    return LAB.ns_exec(LAB.receiver.ns, ["tc", *args]).stdout


def peer_counter_value() -> int:
    """Packets counted by the stand-in vendor program attached with tc."""
    filters = json.loads(tc("-j", "filter", "show", "dev", "eth0", "ingress"))
    ids = [f["options"]["prog"]["id"] for f in filters
           if f.get("options", {}).get("prog", {}).get("name", "").startswith("peer_")]
    info = json.loads(subprocess.run(["bpftool", "-j", "prog", "show", "id", str(ids[0])],
                                     capture_output=True, text=True, check=True).stdout)
    dump = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "id", str(info["map_ids"][0])],
                                     capture_output=True, text=True, check=True).stdout)
    value = dump[0].get("formatted", dump[0])["value"]
    if isinstance(value, list):  # raw bytes without BTF
        return int.from_bytes(bytes(int(x, 16) for x in value), "little")
    return int(value)


class Observer(unittest.TestCase):
    def setUp(self):
        self.b = LAB.receiver

    def tearDown(self):
        LAB.ns_exec(self.b.ns, ["tc", "qdisc", "del", "dev", "eth0", "clsact"], check=False)

    def add_peer_program(self, section: str) -> None:
        tc("qdisc", "add", "dev", "eth0", "clsact")
        tc("filter", "add", "dev", "eth0", "ingress", "pref", "1", "bpf", "da", "obj", PEER_TC_PROG,
           "sec", section)

    def inject(self, count=100) -> None:
        LAB.inject("a", "b", count=count, dport=7, payload_len=200)

    def rx_packets(self) -> int:
        return vxlab.link_stats(self.b.ns, "eth0")["rx_packets"]

    def check_traffic_unchanged(self, mode: str):
        with LAB.start_listener(self.b.pod_ns, "tcp", 8090):
            with Vxtrace(self.b.ns, "--iface", "eth0", "--attach-mode", mode) as vx:
                self.assertEqual({a["hook"] for a in vx.start["attached"][:2]}, {mode})
                for _ in range(8):  # the lab's echo server is for modest sizes
                    self.assertEqual(LAB.tcp_echo("a", "b", 8090, 65536), 65536)
                self.assertEqual(LAB.ping("a", "b", 20), 20)
                drops, summary = vx.stop()
        a = peer(summary, LAB.node("a").underlay_ip)
        self.assertGreater(a["rx_packets"], 20)
        self.assertEqual(a["decapsulated"], a["rx_packets"], "every packet reached vxlan.calico")
        network = {"checksum", "rp_filter", "conntrack", "netfilter", "vxlan"}
        # TCP's own lifecycle may free a late segment ("other"); that is not loss.
        self.assertEqual({c: n for c, n in a["by_cause"].items() if c in network}, {},
                         [d for d in drops if d["tunnel"] and d["tunnel"]["peer"] == a["peer"]])

    def test_traffic_passes_unchanged_with_tcx(self):
        self.check_traffic_unchanged("tcx")

    def test_traffic_passes_unchanged_with_clsact(self):
        self.check_traffic_unchanged("clsact")

    def check_vendor_program_sees_everything(self, section: str, mode: str) -> None:
        self.add_peer_program(section)
        with Vxtrace(self.b.ns, "--iface", "eth0", "--attach-mode", mode) as vx:
            # Paired reads: the vendor's count and the device's, at the same two moments.
            seen0, rx0 = peer_counter_value(), self.rx_packets()
            self.inject(100)
            _, summary = vx.stop()
            seen, received = peer_counter_value() - seen0, self.rx_packets() - rx0
        self.assertEqual(peer(summary, LAB.node("a").underlay_ip)["rx_packets"], 100)
        self.assertGreaterEqual(received, 100)
        self.assertEqual(seen, received, "the vendor program saw every packet")

    def test_a_vendor_clsact_program_keeps_running_and_keeps_its_filter(self):
        self.check_vendor_program_sees_everything("tc/next", "clsact")
        left = json.loads(tc("-j", "filter", "show", "dev", "eth0", "ingress"))
        names = [f["options"]["prog"]["name"] for f in left if "options" in f]
        self.assertEqual(names, ["peer_next"], "ours removed, the vendor's kept")

    def test_tcx_runs_before_a_vendor_program_that_ends_the_chain(self):
        # tc/pass returns TC_ACT_OK: nothing behind it in the clsact chain runs.
        self.check_vendor_program_sees_everything("tc/pass", "tcx")

    def test_two_vxtraces_on_one_device_both_see_everything(self):
        with Vxtrace(self.b.ns, "--iface", "eth0") as one, Vxtrace(self.b.ns, "--iface", "eth0") as two:
            self.inject(100)
            _, s1 = one.stop()
            _, s2 = two.stop()
        for s in (s1, s2):
            self.assertEqual(peer(s, LAB.node("a").underlay_ip)["rx_packets"], 100)

    def check_nothing_left(self, sig: int, mode: str):
        with Vxtrace(self.b.ns, "--iface", "eth0", "--attach-mode", mode) as vx:
            ids = [a["prog_id"] for a in vx.start["attached"]]
            self.assertEqual(len(ids), 3)
            self.assertTrue(all(prog_exists(i) for i in ids))
            vx.kill(sig)
        self.assertEqual(wait_gone(ids), [], "a program outlived vxtrace")
        self.assertNotIn("vxt_", tc("filter", "show", "dev", "eth0", "ingress"))

    def test_nothing_left_after_sigint(self):
        self.check_nothing_left(signal.SIGINT, "tcx")

    def test_nothing_left_after_sigterm_with_clsact(self):
        self.check_nothing_left(signal.SIGTERM, "clsact")

    def test_nothing_left_after_sigkill_with_tcx(self):
        self.check_nothing_left(signal.SIGKILL, "tcx")


if __name__ == "__main__":
    unittest.main()
