"""`vxtrace agent --pcap`: every drop that passes --filter written as pcapng (not limited by the
JSON line rate), rotated so the files never hold more than --pcap-files x --pcap-max-mib, each
file readable alone by tshark and the kept ones holding exactly the newest drops; --filter picks
the captured packets exactly; an unwritable path is a one-line start-up error; a full disk is
counted while the agent keeps serving.

Captures make each ring buffer event 1.6 KiB: the agent gets a 16 MiB ring here so a burst from
inject.py loses nothing (losses would be counted, but the tests compare exact numbers)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

import jsonschema

from agent_run import POD_NET, ROOT, UNDERLAY, VXTRACE, Agent, http_get, metric
from vxtrace_run import peer
import vxlab

SCHEMA = json.loads((ROOT / "deploy" / "schema" / "vxtrace-events.schema.json").read_text())

RING = ["--ringbuf-kib", "16384"]


def setUpModule():
    global LAB
    LAB = vxlab.Lab(underlay=UNDERLAY, pod_net=POD_NET).up()


def tearDownModule():
    LAB.down()


def tshark_inner_ids(path: str) -> list[int]:
    """Inner IPv4 IDs of the packets in a capture, in file order; tshark must read it cleanly."""
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "ip.id"], capture_output=True, text=True,
                         timeout=120)
    if out.returncode != 0:
        raise AssertionError(f"tshark -r {path}: {out.returncode} {out.stderr}")
    return [int(line.split(",")[-1], 16) for line in out.stdout.splitlines()]


def tshark_fields(path: str, *fields: str) -> list[list[str]]:
    argv = ["tshark", "-r", path, "-T", "fields", "-E", "separator=|"]
    for f in fields:
        argv += ["-e", f]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout
    return [line.split("|") for line in out.splitlines()]


def assert_valid(test: unittest.TestCase, lines: list[dict]) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for line in lines:
        test.assertEqual(list(validator.iter_errors(line)), [], json.dumps(line))


def final_summary(ag: Agent) -> dict:
    final = ag.of_type("summary")[-1]
    assert final["final"], final
    return final


class Rotation(unittest.TestCase):
    def test_rotated_files_hold_exactly_the_newest_drops(self):
        bursts, per_burst, first_id = 4, 1000, 1000
        a = LAB.node("a")
        with tempfile.TemporaryDirectory() as d:
            path = f"{d}/drops.pcapng"
            with Agent(LAB.receiver.ns, "-i", "eth0", "--causes", "checksum", *RING, "--pcap", path,
                       "--pcap-max-mib", "1", "--pcap-files", "3") as ag:
                t0 = time.monotonic()
                for k in range(bursts):
                    LAB.inject("a", "b", count=per_burst, bad_outer_csum=per_burst, dport=6100, sport=42100,
                               ip_id=first_id + k * per_burst, seed=k + 1)
                sent = time.monotonic() - t0
                total = bursts * per_burst
                m = ag.wait_for(lambda: (m := ag.metrics()) and metric(
                    m, "vxtrace_pcap_packets_written_total") == total and m, 15)
                self.assertTrue(m, ag.metrics_text())
                self.assertEqual(metric(m, "vxtrace_pcap_write_errors_total"), 0)
                rotations = metric(m, "vxtrace_pcap_rotations_total")
                self.assertGreaterEqual(rotations, 3)
                code, _ = ag.stop()
            self.assertEqual(code, 0, ag.stderr)
            final = final_summary(ag)
            pc, stream = final["pcap"], final["stream"]
            self.assertEqual(peer(final, a.underlay_ip)["by_cause"], {"checksum": total}, "counters: every drop")
            self.assertEqual(final["lost_events"], 0)
            self.assertEqual(pc["path"], path)
            self.assertEqual((pc["received"], pc["written"], pc["write_errors"], pc["no_bytes"]),
                             (total, total, 0, 0), pc)
            self.assertEqual(stream["received"], pc["received"], "the stream and the capture see the same drops")
            self.assertLess(stream["written"], pc["written"], "the capture is not held to the JSON line rate")
            self.assertEqual(pc["files_rotated"], rotations)

            names = sorted(os.listdir(d))
            self.assertEqual(names, ["drops.pcapng", "drops.pcapng.1", "drops.pcapng.2"])
            kept, sizes = [], {}
            for name in ("drops.pcapng.2", "drops.pcapng.1", "drops.pcapng"):  # oldest first
                sizes[name] = os.path.getsize(f"{d}/{name}")
                self.assertLessEqual(sizes[name], 1 << 20, name)
                ids = tshark_inner_ids(f"{d}/{name}")
                self.assertTrue(ids, name)
                kept += ids
            self.assertEqual(len(kept), pc["written"] - pc["rotated_out"], "kept = written - rotated out")
            self.assertGreater(pc["rotated_out"], 0, "the oldest file was deleted")
            newest = [(first_id + i) & 0xFFFF for i in range(total)][-len(kept):]
            self.assertEqual(kept, newest, "the files hold the newest drops, in order, none twice")
            print(f"\n  pcap: {total} drops sent in {sent:.2f}s; {rotations:.0f} rotations; files "
                  f"{ {n: s for n, s in sizes.items()} } bytes; kept {len(kept)} packets "
                  f"({len(kept) // 3}/file), rotated out {pc['rotated_out']}; {pc['bytes']} bytes written; "
                  f"{stream['written']} drop lines", file=sys.stderr)
            assert_valid(self, ag.lines)


class Filter(unittest.TestCase):
    def test_filter_selects_the_captured_packets_exactly(self):
        a, c = LAB.node("a"), LAB.node("c")
        with tempfile.TemporaryDirectory() as d:
            path = f"{d}/f.pcapng"
            with Agent(LAB.receiver.ns, "-i", "eth0", *RING, "--pcap", path, "--filter-inner", "udp dst port 7001",
                       "--snaplen", "200") as ag:
                LAB.inject("a", "b", count=10, bad_outer_csum=10, dport=7001, sport=41100)
                LAB.inject("a", "b", count=15, bad_outer_csum=15, dport=7002, sport=41101)
                LAB.inject("c", "b", count=5, bad_outer_csum=5, dport=7001, sport=41102)
                self.assertTrue(ag.wait_for(lambda: metric(ag.metrics(), "vxtrace_pcap_packets_written_total") == 15,
                                            10), ag.metrics_text())
                m = ag.metrics()
                code, _ = ag.stop()
            self.assertEqual(code, 0, ag.stderr)
            self.assertEqual(metric(m, "vxtrace_peer_drops_total", peer=a.underlay_ip, cause="checksum"), 25,
                             "counters: every drop")
            final = final_summary(ag)
            self.assertEqual(peer(final, a.underlay_ip)["by_cause"], {"checksum": 25})
            self.assertEqual(peer(final, c.underlay_ip)["by_cause"], {"checksum": 5})
            self.assertEqual(final["pcap"]["written"], 15)
            self.assertEqual(final["stream"]["received"], 15, "the stream is filtered the same way")
            rows = tshark_fields(path, "ip.src", "udp.dstport", "frame.cap_len", "frame.comment")
            self.assertEqual(len(rows), 15)
            by_peer = {}
            for src, dports, cap_len, comment in rows:
                self.assertEqual(dports.split(",")[-1], "7001")
                self.assertEqual(int(cap_len), 200, "--snaplen")
                self.assertIn("cause=checksum", comment)
                outer = src.split(",")[0]
                by_peer[outer] = by_peer.get(outer, 0) + 1
            self.assertEqual(by_peer, {a.underlay_ip: 10, c.underlay_ip: 5})


class Errors(unittest.TestCase):
    def one_line_error(self, *args: str) -> str:
        proc = subprocess.run(["ip", "netns", "exec", LAB.receiver.ns, VXTRACE, "agent", "-i", "eth0",
                               "--listen", "127.0.0.1:9476", *args], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertEqual(proc.stdout, "", "nothing started")
        return lines[0]

    def test_unwritable_pcap_is_one_line_before_loading(self):
        self.assertIn("--pcap /nonexistent/dir/x.pcapng", self.one_line_error("--pcap", "/nonexistent/dir/x.pcapng"))
        self.assertIn("No space left", self.one_line_error("--pcap", "/dev/full"))
        self.assertIn("--pcap", self.one_line_error("--pcap", "-"))
        self.assertIn("--filter 'udp port nonsense'", self.one_line_error("--filter", "udp port nonsense"))

    def test_full_disk_is_counted_and_the_agent_keeps_serving(self):
        """A 256 KiB tmpfs in the agent's own mount namespace: writes fail with ENOSPC once it is
        full; every packet is written or counted as an error, /healthz stays up, exit is clean."""
        ns = LAB.receiver.ns
        with tempfile.TemporaryDirectory() as d:
            wrapper = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                       f'mount -t tmpfs -o size=256k vxtrace-test "{d}" && exec "$@"', "sh",
                       "ip", "netns", "exec", ns, VXTRACE, "agent", "--listen", "127.0.0.1:9476"]
            with Agent(ns, "-i", "eth0", "--causes", "checksum", *RING, "--pcap", f"{d}/drops.pcapng",
                       "--pcap-max-mib", "1", listen=False, wrapper=wrapper) as ag:
                LAB.inject("a", "b", count=600, bad_outer_csum=600, dport=7100, sport=41300)
                m = ag.wait_for(lambda: (m := ag.metrics()) and metric(m, "vxtrace_pcap_write_errors_total") and m, 10)
                self.assertTrue(m, ag.metrics_text())
                written = metric(m, "vxtrace_pcap_packets_written_total")
                self.assertGreater(written, 100)
                time.sleep(1.2)  # a retry is due: it fails again, counted
                LAB.inject("a", "b", count=50, bad_outer_csum=50, dport=7100, sport=41301)
                self.assertEqual(http_get(ns, "/healthz")[0], 200)
                m = ag.wait_for(lambda: (m := ag.metrics()) and metric(m, "vxtrace_pcap_packets_written_total") +
                                metric(m, "vxtrace_pcap_write_errors_total") == 650 and m, 10)
                self.assertTrue(m, ag.metrics_text())
                on_tmpfs = os.listdir(f"/proc/{ag.proc.pid}/root{d}")
                code, _ = ag.stop()
            self.assertEqual(code, 0, ag.stderr)
            self.assertEqual(os.listdir(d), [], "the tmpfs was the agent's alone")
        pc = final_summary(ag)["pcap"]
        self.assertEqual(pc["received"], 650)
        self.assertEqual(pc["written"] + pc["write_errors"], 650)
        self.assertGreaterEqual(pc["write_errors"], 650 - written)
        self.assertIn("No space left on device", ag.stderr)
        self.assertIn("drops.pcapng", on_tmpfs)
        print(f"\n  full disk: {pc['written']} written, {pc['write_errors']} errors, files {sorted(on_tmpfs)}",
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
