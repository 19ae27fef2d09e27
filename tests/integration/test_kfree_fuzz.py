"""The kfree_skb half of the fuzz test: malformed VXLAN frames dropped for real by the
kernel, and vxtrace reporting no flow it did not read from within the packet's bounds.

The tc half (BPF_PROG_TEST_RUN over 200,000 frames, output byte-identical) is
tests/bpf/tc_ingress_test.cpp; this half runs the kernel's own receive path, where the
packet may be trimmed, untagged, queued for reassembly or decapsulated before it is freed.
"""
from __future__ import annotations

import unittest
from collections import Counter

import fuzz_frames
from vxtrace_run import Vxtrace, netns_inode
import vxlab

UNDERLAY = "203.0.113.0/24"
PER_KIND = 3500  # x 16 kinds = 56,000 frames


def setUpModule():
    global LAB
    LAB = vxlab.Lab(underlay=UNDERLAY).up()


def tearDownModule():
    LAB.down()


class KfreeSkbFuzz(unittest.TestCase):
    def test_malformed_frames_never_report_an_invented_flow(self):
        a, b = LAB.node("a"), LAB.receiver
        frames = fuzz_frames.build(a, b, PER_KIND)
        lab_netns = {netns_inode(ns) for ns in LAB.namespaces}
        with Vxtrace(b.ns, "--iface", b.underlay_dev, "--causes", "all", "--ringbuf-kib", "16384") as vx:
            sent = LAB.ns_exec(a.ns, [vxlab.PYTHON, "-c", fuzz_frames.SENDER, a.underlay_dev, "1000", "0.05"],
                               input="\n".join(f.hex() for f in frames.frames), timeout=120)
            self.assertEqual(int(sent.stdout.strip()), len(frames.frames))
            drops, summary = vx.stop(settle=1.0)

        self.assertEqual(summary["lost_events"], 0, "the ring buffer was big enough for every event")
        reported, unknown_ports = Counter(), 0
        for d in drops:
            f = d["flow"]
            if d["netns"] not in lab_netns or not f or f["src"] != a.pod_ip:
                continue
            key = (f["src"], f["dst"], f["proto"], f["sport"], f["dport"])
            if f["sport"] == f["dport"] == 0:
                unknown_ports += 1  # the L4 header lay past a bound: ports not read, shown as 0
                continue
            self.assertFalse(key in frames.hidden, f"read past the bounds of a {frames.hidden.get(key)} frame: {d}")
            self.assertTrue(key in frames.legit, f"a flow that was never sent: {d}")
            reported[key] += 1
        self.assertEqual([k for k, n in reported.items() if n > 1], [], "a packet is freed once")
        # Every well-formed frame reached the pod, found no socket, and was reported with its flow.
        self.assertEqual(frames.whole - set(reported), set())
        kinds = Counter(frames.legit[k] for k in reported)
        self.assertGreater(len(kinds), 6, f"malformed kinds with a readable flow were reported too: {kinds}")
        # Frames whose flow the kernel itself reads (it routes them to the pod, or drops them as
        # another host's after removing the VLAN tag) are each reported once, with that flow.
        for kind in ("outer_options", "inner_options", "vlan", "vxlan_in_vxlan"):
            self.assertEqual(kinds[kind], PER_KIND, f"{kind}: {kinds}")
        self.assertGreater(unknown_ports, 0, "an L4 header past a bound is reported without ports")
        # With --causes all and room in the ring, every drop on the kernel became an event.
        self.assertEqual(summary["events"], sum(summary["drops"].values()))


if __name__ == "__main__":
    unittest.main()
