#!/usr/bin/python3
"""Fast self-check of the benchmark's parsing and statistics (benchlib.py). No root, < 1 s.

    /usr/bin/python3 tests/bench/selfcheck.py
"""
from __future__ import annotations

import json
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402


def drop_line(peer: str | None, i: int) -> bytes:
    tunnel = "null" if peer is None else f'{{"peer":"{peer}","local":"192.0.2.130","vni":4096,"source":"outer","rx_csum":"software"}}'
    return (f'{{"type":"drop","ts":"2026-11-22T01:23:49.{i:09d}Z","node":"n","cause":"checksum",'
            f'"reason":"UDP_CSUM","location":"udp_queue_rcv_one_skb+0x153","ifname":"eth0","ifindex":2,'
            f'"netns":1,"netns_source":"device","len":110,"ct_state":"none","flow":null,"tunnel":{tunnel}}}\n').encode()


class Stats(unittest.TestCase):
    def test_median_and_spread(self):
        s = bl.Stat([3.0, 1.0, 2.0, 10.0])
        self.assertEqual(s.median, 2.5)
        self.assertEqual((s.lo, s.hi, s.n), (1.0, 10.0, 4))
        self.assertAlmostEqual(s.spread_pct(), 360.0)
        self.assertIsNone(bl.Stat().median)

    def test_paired_overhead(self):
        r = bl.paired_ratios([98.0, 101.0, 95.0], [100.0, 100.0, 100.0])
        self.assertEqual(r, [0.98, 1.01, 0.95])
        o = bl.overhead_pct(r)
        self.assertAlmostEqual(o.median, 2.0)
        self.assertAlmostEqual(o.lo, -1.0)
        with self.assertRaises(ValueError):
            bl.paired_ratios([1.0], [1.0, 2.0])

    def test_confidence_interval_and_its_verdict(self):
        mean, lo, hi = bl.mean_ci95([1.0, 2.0, 3.0])
        self.assertAlmostEqual(mean, 2.0)
        self.assertAlmostEqual(hi - mean, 4.303 * 1.0 / 3 ** 0.5, places=3)
        self.assertIsNone(bl.mean_ci95([1.0]))
        self.assertEqual(bl.ci_verdict((1.0, 0.5, 1.5), 2.0), "met")
        self.assertTrue(bl.ci_verdict((3.0, 2.5, 3.5), 2.0).startswith("MISSED"))
        self.assertTrue(bl.ci_verdict((2.0, 1.0, 3.0), 2.0).startswith("undecided"))

    def test_pairs_for_a_narrower_interval(self):
        xs = [0.0, 4.0, 8.0, 2.0, 6.0]  # sd sqrt(10)
        self.assertEqual(bl.pairs_for_half_width(xs, 1.0), 39)  # ceil((1.96 * 3.162)^2)
        self.assertEqual(bl.pairs_for_half_width(xs, 100.0), 5)  # never fewer than were run
        self.assertIsNone(bl.pairs_for_half_width([1.0], 1.0))

    def test_cpu_busy(self):
        text = "cpu  100 5 50 1000 20 3 2 0 0 0\ncpu0 1 2 3 4\n"
        self.assertEqual(bl.cpu_busy_ns(text), (100 + 5 + 50 + 3 + 2) * 10_000_000)

    def test_abba(self):
        self.assertEqual(bl.abba_order(3), [("without", "with"), ("with", "without"), ("without", "with")])

    def test_verdict(self):
        self.assertEqual(bl.verdict(90, 100), "met")
        self.assertEqual(bl.verdict(150, 100), "MISSED by 50 %")
        self.assertEqual(bl.verdict(0.8e6, 1e6, higher_is_better=True), "MISSED by 20 %")
        self.assertEqual(bl.verdict(None, 1), "n/a")


class Parsers(unittest.TestCase):
    def test_prog_stats_delta(self):
        a = bl.prog_stats('{"id": 7, "name": "vxt_kfree_skb", "type": "tracing", "run_time_ns": 1000, "run_cnt": 10}')
        b = bl.prog_stats({"id": 7, "run_time_ns": 31000, "run_cnt": 110})
        self.assertEqual(bl.ns_per_run(a, b), (300.0, 100))
        self.assertEqual(bl.ns_per_run(b, b), (None, 0))
        self.assertEqual(bl.prog_stats({"id": 1})["run_cnt"], 0)  # stats off: fields absent

    def test_start_line(self):
        start = {"type": "start", "attached": [{"ifname": "eth0", "role": "underlay", "prog_id": 11},
                                               {"ifname": "*", "role": "drops", "prog_id": 13}]}
        self.assertEqual(bl.start_line_prog_ids(start), {"underlay": 11, "drops": 13})

    def test_proc(self):
        stat = "1234 (vx trace) S 1 2 3 4 5 6 7 8 9 10 250 30 0 0 20 0 1 0 100 1000 200"
        self.assertEqual(bl.proc_cpu_ticks(stat), 280)
        st = bl.proc_status_kib("Name:\tvxtrace\nVmHWM:\t   31516 kB\nVmRSS:\t   22600 kB\nThreads:\t1\n")
        self.assertEqual(st, {"VmHWM": 31516, "VmRSS": 22600})

    def test_snmp(self):
        text = ("Udp: InDatagrams NoPorts InErrors InCsumErrors\nUdp: 5 0 37 37\n"
                "TcpExt: SyncookiesSent IPReversePathFilter\nTcpExt: 0 50\n")
        c = bl.snmp_counters(text)
        self.assertEqual(c["UdpInCsumErrors"], 37)
        self.assertEqual(c["TcpExtIPReversePathFilter"], 50)

    def test_iperf(self):
        tcp = {"end": {"sum_sent": {"bits_per_second": 2e9, "seconds": 3},
                       "sum_received": {"bits_per_second": 1.9e9, "seconds": 3}}}
        self.assertEqual(bl.iperf_result(tcp)["bits_per_second"], 1.9e9)
        udp = {"end": {"sum": {"packets": 1000, "lost_packets": 100, "seconds": 2.0, "lost_percent": 10.0,
                               "bits_per_second": 1.0},
                       "sum_received": {"bits_per_second": 0.9}}}
        r = bl.iperf_result(udp)
        self.assertEqual((r["proto"], r["pps"], r["sent_pps"]), ("udp", 450.0, 500.0))


class Stream(unittest.TestCase):
    def stream(self, chunk_size: int):
        start = b'{"type":"start","schema":1,"attached":[{"ifname":"eth0","role":"underlay","prog_id":5}]}\n'
        body = b"".join(drop_line("192.0.2.129" if i % 3 else "198.51.100.1", i) for i in range(1000))
        body += drop_line(None, 1001)
        summary = {"type": "summary", "final": True, "events": 1001, "lost_events": 7,
                   "drops": {"checksum": 1008}, "peers": [{"peer": "192.0.2.129", "rx_packets": 5,
                                                           "by_cause": {"checksum": 666}}]}
        data = start + body + json.dumps(summary, separators=(",", ":")).encode() + b"\n"
        chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)]
        return data, bl.count_stream(iter(chunks), ["192.0.2.129", "203.0.113.9"])

    def test_count_stream_any_chunking(self):
        for size in (1, 7, 100, 4096, 1 << 20):
            data, sc = self.stream(size)
            self.assertEqual(sc.bytes, len(data))
            self.assertEqual(sc.lines, 1003)
            self.assertEqual(sc.drops, 1001)
            self.assertEqual(sc.drops_by_peer, {"192.0.2.129": 666, "203.0.113.9": 0})
            self.assertEqual(sc.start["attached"][0]["prog_id"], 5)
            self.assertEqual(sc.summary["lost_events"], 7)
            self.assertEqual(bl.peer_entry(sc.summary, "192.0.2.129")["by_cause"]["checksum"], 666)
            self.assertEqual(bl.peer_entry(sc.summary, "10.0.0.1")["drops"], 0)
            self.assertEqual(bl.streamed_total(sc.summary), 1008)

    def test_no_final_summary(self):
        sc = bl.count_stream(iter([b'{"type":"start"}\n', b'{"type":"summary","final":false}\n']), [])
        self.assertIsNone(sc.summary)


class Table(unittest.TestCase):
    def test_render(self):
        rows = [bl.Row("1. cost", "tc underlay", "84 ns", "<= 100 ns", "met"),
                bl.Row("1. cost", "kfree_skb", "420 ns", "<= 300 ns", bl.verdict(420, 300)),
                bl.Row("2. overhead", "tcp", bl.fmt_stat(bl.Stat([1.0, 2.0, 3.0]), "%", 1))]
        text = bl.render_table(rows)
        self.assertIn("== 1. cost", text)
        self.assertIn("MISSED by 40 %", text)
        self.assertIn("2.0 % (1.0..3.0, n=3)", text)
        self.assertIn("| 2. overhead | tcp |", bl.render_markdown(rows))
        self.assertEqual(bl.fmt_num(9.6e9, "bit/s"), "9.60 Gbit/s")
        self.assertEqual(bl.fmt_num(523000.0, "/s"), "523 k/s")
        self.assertEqual(bl.fmt_num(None), "n/a")


if __name__ == "__main__":
    unittest.main(verbosity=1)
