"""--pcap: dropped packets as pcapng, read back with tshark, and checksum verdicts that agree
with tshark's own checksum check."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
import unittest

from vxtrace_run import Vxtrace, peer, run_vxtrace
import vxlab

UNDERLAY = "192.0.2.0/24"


def setUpModule():
    global LAB
    LAB = vxlab.Lab(underlay=UNDERLAY).up()


def tearDownModule():
    LAB.down()


def tshark(path: str, *fields: str) -> list[list[str]]:
    argv = ["tshark", "-r", path, "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
            "-T", "fields", "-E", "separator=|"]
    for f in fields:
        argv += ["-e", f]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout
    return [line.split("|") for line in out.splitlines()]


def pseudo_header_sum(src: str, dst: str, proto: int, l4_len: int) -> int:
    """The folded IPv4 pseudo-header sum, uncomplemented: what an unfinished offload leaves."""
    words = socket.inet_aton(src) + socket.inet_aton(dst) + bytes((0, proto)) + l4_len.to_bytes(2, "big")
    total = sum(int.from_bytes(words[i:i + 2], "big") for i in range(0, len(words), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


class Pcap(unittest.TestCase):
    def setUp(self):
        fd, self.path = tempfile.mkstemp(suffix=".pcapng")
        os.close(fd)
        self.addCleanup(os.unlink, self.path)

    def test_outer_checksum_drops_captured_with_comment_and_verdict(self):
        b = LAB.receiver
        with Vxtrace(b.ns, "--iface", b.underlay_dev, "--pcap", self.path) as vx:
            res = LAB.run_scenario("outer_csum", count=300, bad=11)
            drops, summary = vx.stop()
        self.assertTrue(res["ok"], res["checks"])
        ours = [d for d in drops if d["cause"] == "checksum" and d["tunnel"]
                and d["tunnel"]["peer"] == LAB.node("a").underlay_ip]
        self.assertEqual(len(ours), 11)
        for d in ours:
            c = d["csum"]
            self.assertEqual((c["verified"], c["layer"], c["proto"], c["pattern"]), (True, "outer", "udp", "mismatch"))
            self.assertNotEqual(c["wire"], c["correct"])

        rows = tshark(self.path, "frame.comment", "ip.id", "udp.checksum", "udp.checksum_calculated",
                      "udp.checksum.status")
        captured = [r for r in rows if "cause=checksum" in r[0]]
        self.assertEqual(len(captured), 11, "every checksum drop is in the capture")
        inner_ids = {int(r[1].split(",")[-1], 16) for r in captured}
        self.assertEqual(inner_ids, set(res["expect"]["ip_ids"]), "the packets that were sent")
        verdicts = {d["csum"]["wire"]: d["csum"]["correct"] for d in ours}
        for comment, _, wire, calculated, status in captured:
            outer_wire, outer_calc, outer_status = wire.split(",")[0], calculated.split(",")[0], status.split(",")[0]
            self.assertEqual(outer_status, "0", "tshark itself finds the outer UDP checksum bad")
            self.assertEqual(verdicts[outer_wire], outer_calc, "vxtrace's right value is tshark's")
            self.assertIn(f"csum=outer udp wire {outer_wire} correct {outer_calc} (mismatch)", comment)
            self.assertIn(f"node={vx.start['node']}", comment)
            self.assertIn("reason=UDP_CSUM", comment)
        # Every streamed drop is captured, each on an interface named after its device and netns.
        self.assertEqual(len(rows), len(drops))
        names = {r[0] for r in tshark(self.path, "frame.interface_name")}
        self.assertTrue(all("@netns:" in n for n in names), names)

    def test_checksum_patterns_of_crafted_packets(self):
        """Each kind of wrong checksum, crafted so the test knows both values, gets its pattern; the
        right value is tshark's and the pseudo-header sum is computed here, independently."""
        b, a = LAB.receiver, LAB.node("a")
        cases = [  # kind, inner proto (None: bad outer UDP checksum), layer, pattern
            ("ffff", None, "outer", "udp", "ffff"),
            ("pseudo", None, "outer", "udp", "pseudo_header_only"),
            ("random", None, "outer", "udp", "mismatch"),
            ("zero", "tcp", "inner", "tcp", "zero"),
            ("pseudo", "tcp", "inner", "tcp", "pseudo_header_only"),
            ("pseudo", "udp", "inner", "udp", "pseudo_header_only"),
        ]
        for i, (kind, inner, layer, proto, pattern) in enumerate(cases):
            with self.subTest(kind=kind, inner=inner):
                n, dport = 7 + i, 6100 + i
                with Vxtrace(b.ns, "--iface", b.underlay_dev, "--pcap", self.path) as vx:
                    sent = LAB.inject("a", "b", count=n, bad_csum_kind=kind, dport=dport, sport=41300 + i,
                                      payload_len=64, seed=20 + i, proto=inner or "udp",
                                      bad_outer_csum=0 if inner else n, bad_inner_csum=bool(inner))
                    drops, _ = vx.stop()
                ours = [d for d in drops if d["cause"] == "checksum" and d["flow"]["dport"] == dport]
                self.assertEqual(len(ours), n)
                # The L4 segment the checksum covers, and its IPv4 addresses.
                if inner:
                    src, dst, l4_len = a.pod_ip, b.pod_ip, sent["frame_len"] - 14 - 20 - 8 - 8 - 14 - 20
                else:
                    src, dst, l4_len = a.underlay_ip, b.underlay_ip, sent["frame_len"] - 14 - 20
                pseudo = pseudo_header_sum(src, dst, 6 if proto == "tcp" else 17, l4_len)
                # The capture holds every streamed drop, in the order streamed.
                rows = tshark(self.path, f"{proto}.checksum", f"{proto}.checksum_calculated")
                self.assertEqual(len(rows), len(drops))
                for d, (wire, right) in zip(drops, rows):
                    if d not in ours:
                        continue
                    c = d["csum"]
                    self.assertEqual((c["verified"], c["layer"], c["proto"], c["pattern"]),
                                     (True, layer, proto, pattern), c)
                    expected_wire = {"ffff": 0xFFFF, "zero": 0, "pseudo": pseudo}.get(kind)
                    if expected_wire is not None:
                        self.assertEqual(int(c["wire"], 16), expected_wire)
                    # The first checksum of that protocol in the packet is the one it was dropped on.
                    self.assertEqual((wire.split(",")[0], right.split(",")[0]), (c["wire"], c["correct"]),
                                     "the right value is tshark's")

    def test_filters_select_the_stream_and_counters_stay_exact(self):
        b, a, c = LAB.receiver, LAB.node("a"), LAB.node("c")

        def provoke():
            LAB.inject("a", "b", count=10, bad_outer_csum=10, dport=7001, sport=41100)
            LAB.inject("a", "b", count=15, bad_outer_csum=15, dport=7002, sport=41101)
            LAB.inject("c", "b", count=5, bad_outer_csum=5, dport=7001, sport=41102)

        cases = [(("--filter-inner", "udp dst port 7001"), {(a.underlay_ip, 7001): 10, (c.underlay_ip, 7001): 5}),
                 (("--filter", f"src host {c.underlay_ip}"), {(c.underlay_ip, 7001): 5}),
                 (("--filter", "udp port 4789", "--filter-inner", "udp dst port 7002"), {(a.underlay_ip, 7002): 15})]
        for args, expected in cases:
            with self.subTest(args=args):
                with Vxtrace(b.ns, "--iface", b.underlay_dev, *args) as vx:
                    provoke()
                    drops, summary = vx.stop()
                streamed = {}
                for d in drops:
                    if d["cause"] == "checksum":
                        key = (d["tunnel"]["peer"], d["flow"]["dport"])
                        streamed[key] = streamed.get(key, 0) + 1
                self.assertEqual(streamed, expected)
                self.assertEqual(peer(summary, a.underlay_ip)["by_cause"], {"checksum": 25}, "counters: every drop")
                self.assertEqual(peer(summary, c.underlay_ip)["by_cause"], {"checksum": 5})

    def assert_refused_in_one_line(self, args: tuple[str, ...], says: str) -> None:
        proc = run_vxtrace(LAB.receiver.ns, "--iface", "eth0", *args, "--duration", "1")
        self.assertNotEqual(proc.returncode, 0)
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertIn(says, lines[0])

    def test_bad_filter_is_one_line_before_loading(self):
        self.assert_refused_in_one_line(("--filter-inner", "udp port nonsense"),
                                        "--filter-inner 'udp port nonsense'")

    def test_stack_names_the_functions_that_dropped(self):
        b = LAB.receiver
        with Vxtrace(b.ns, "--iface", b.underlay_dev, "--stack") as vx:
            LAB.inject("a", "b", count=6, bad_outer_csum=6, dport=5000, sport=41200)
            drops, _ = vx.stop()
        ours = [d for d in drops if d["cause"] == "checksum"]
        self.assertEqual(len(ours), 6)
        for d in ours:
            # "func+0xoff", or a bare address for the BPF program's own frame.
            self.assertTrue(all(re.fullmatch(r"[\w.]+\+0x[0-9a-f]+|0x[0-9a-f]+", f) for f in d["stack"]),
                            d["stack"])
            funcs = [f.split("+")[0] for f in d["stack"]]
            # The drop location, and the IP receive path that delivered the packet to UDP below it.
            self.assertIn(d["location"].split("+")[0], funcs, d["stack"])
            self.assertIn("ip_local_deliver_finish", funcs, d["stack"])
            self.assertLess(funcs.index(d["location"].split("+")[0]), funcs.index("ip_local_deliver_finish"))

    def test_without_pcap_nothing_is_captured(self):
        b = LAB.receiver
        with Vxtrace(b.ns, "--iface", b.underlay_dev) as vx:
            LAB.inject("a", "b", count=5, bad_outer_csum=5, dport=5000)
            drops, _ = vx.stop()
        self.assertTrue(drops)
        self.assertTrue(all("csum" not in d and "stack" not in d for d in drops))

    def test_unwritable_pcap_is_one_line_before_loading(self):
        self.assert_refused_in_one_line(("--pcap", "/nonexistent/dir/x.pcapng"), "--pcap /nonexistent/dir/x.pcapng")


if __name__ == "__main__":
    unittest.main()
