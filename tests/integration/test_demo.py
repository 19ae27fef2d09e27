"""The README's first command ends in a capture that opens in tshark with the drops' comments."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Demo(unittest.TestCase):
    def test_demo_runs_and_its_capture_opens_in_tshark(self):
        with tempfile.TemporaryDirectory() as tmp:
            pcap = os.path.join(tmp, "demo.pcapng")
            env = dict(os.environ, VXTRACE_DEMO_PCAP=pcap)
            proc = subprocess.run([sys.executable, str(ROOT / "lab" / "demo.py")], env=env,
                                  capture_output=True, text=True, timeout=300)
            self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
            self.assertNotIn("did not provoke", proc.stderr)
            comments = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "frame.comment"],
                                      capture_output=True, text=True, check=True, timeout=60).stdout.splitlines()
        # The demo's first step: node a corrupts the outer checksum of exactly 37 packets.
        outer = [c for c in comments if "cause=checksum" in c and "reason=UDP_CSUM" in c
                 and "csum=outer udp" in c and "(mismatch)" in c]
        self.assertEqual(len(outer), 37, comments[:5])
        self.assertTrue(all("node=node-b" in c for c in comments))
        self.assertTrue(any("cause=rp_filter" in c for c in comments))
        self.assertTrue(any("cause=conntrack" in c and "rule=" in c for c in comments), comments)
        self.assertIn(f"every streamed drop is also in {pcap}", proc.stdout)


if __name__ == "__main__":
    unittest.main()
