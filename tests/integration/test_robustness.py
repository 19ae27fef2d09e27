"""Bad input gets a clear error and loses nothing: missing interfaces and capabilities,
bad flags, a low RLIMIT_MEMLOCK, malformed VXLAN, a full ring buffer."""
from __future__ import annotations

import json
import signal
import subprocess
import tempfile
import time
import unittest

from vxtrace_run import VXTRACE, Vxtrace, peer, run_vxtrace
import vxlab

UNDERLAY = "198.51.100.0/24"

# Frames a broken sender could emit: UDP to the VXLAN port that is not VXLAN.
MALFORMED = """
from scapy.all import Ether, IP, UDP, Raw, VXLAN, sendp
import sys
src, dst, mac = sys.argv[1:4]
outer = Ether(dst=mac) / IP(src=src, dst=dst) / UDP(sport=41000, dport=4789)
frames = [outer / Raw(b"\\x08\\x00")] * 20                           # shorter than a VXLAN header
frames += [outer / VXLAN(flags=0, vni=4096) / Raw(b"x" * 40)] * 20  # VNI flag clear
frames += [outer / VXLAN(vni=4096) / Raw(b"\\x01" * 20)] * 20        # inner frame cut short
sendp(frames, iface="eth0", verbose=False)
"""


# A VXLAN packet to a closed port in pod b1, then a frame with nothing after its UDP header,
# 200 times: the short frame's buffer still holds the previous packet's bytes.
STALE = """
from scapy.all import Ether, IP, UDP, VXLAN, Raw, sendp
import sys
src, dst, mac, vmac, pod_src, pod_dst = sys.argv[1:7]
good = (Ether(dst=mac) / IP(src=src, dst=dst) / UDP(sport=41001, dport=4789) / VXLAN(vni=4096)
        / Ether(dst=vmac) / IP(src=pod_src, dst=pod_dst) / UDP(sport=40999, dport=9) / Raw(b"y" * 64))
short = Ether(dst=mac) / IP(src=src, dst=dst) / UDP(sport=41002, dport=4789)
sendp([good, short] * 200, iface="eth0", verbose=False)
"""

def setUpModule():
    global LAB
    LAB = vxlab.Lab(underlay=UNDERLAY).up()


def tearDownModule():
    LAB.down()


class Errors(unittest.TestCase):
    def assert_one_line_error(self, proc, needle: str):
        self.assertNotEqual(proc.returncode, 0)
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, proc.stderr)
        self.assertIn(needle, lines[0])

    def test_missing_interface(self):
        proc = run_vxtrace(LAB.receiver.ns, "--iface", "nope0", "--duration", "1")
        self.assert_one_line_error(proc, "no interface 'nope0'")

    def test_bad_flag_values(self):
        for args, needle in [(["--output", "xml"], "--output"), (["--causes", "bogus"], "bogus"),
                             (["--vxlan-port", "0"], "--vxlan-port"), (["--frobnicate"], "--frobnicate")]:
            self.assert_one_line_error(run_vxtrace(LAB.receiver.ns, *args), needle)

    def test_without_capabilities(self):
        proc = subprocess.run(["ip", "netns", "exec", LAB.receiver.ns, "setpriv", "--reuid=65534",
                               "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                               VXTRACE, "--iface", "eth0", "--duration", "1"],
                              capture_output=True, text=True, timeout=30)
        self.assert_one_line_error(proc, "missing capabilities")

    def test_too_few_file_descriptors(self):
        for nofile in ("8", "20"):  # before the BPF object opens, and while programs load
            proc = subprocess.run(["ip", "netns", "exec", LAB.receiver.ns, "prlimit", f"--nofile={nofile}",
                                   VXTRACE, "--iface", "eth0", "--vxlan-dev", "vxlan.calico",
                                   "--duration", "1"], capture_output=True, text=True, timeout=30)
            self.assert_one_line_error(proc, "RLIMIT_NOFILE")

    def test_corrupt_kernel_btf(self):
        # A container that mounts the wrong file over /sys/kernel/btf/vmlinux: truncated, garbage,
        # empty. Seen in a private mount namespace only, so the host's BTF stays as it is.
        real = open("/sys/kernel/btf/vmlinux", "rb").read()
        for name, data in (("truncated", real[:3000]), ("garbage", bytes(range(256)) * 64),
                           ("empty", b""), ("types cut", real[:24] + b"\xff" * 4096 + real[24 + 4096:])):
            with self.subTest(name), tempfile.NamedTemporaryFile() as f:
                f.write(data)
                f.flush()
                # Inside `ip netns exec`, which mounts a /sys of its own.
                proc = subprocess.run(
                    ["ip", "netns", "exec", LAB.receiver.ns, "unshare", "--mount", "sh", "-c",
                     'mount --bind "$0" /sys/kernel/btf/vmlinux && exec "$@"', f.name,
                     VXTRACE, "--iface", "eth0", "--duration", "1"], capture_output=True, text=True, timeout=30)
                self.assert_one_line_error(proc, "not valid BTF")

    def test_missing_vxlan_device_is_a_warning(self):
        proc = run_vxtrace(LAB.receiver.ns, "--iface", "eth0", "--vxlan-dev", "flannel.1",
                           "--duration", "0.5", "-o", "json")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("flannel.1 not found", proc.stderr)
        self.assertIn('"type":"summary"', proc.stdout)


class LosesNothing(unittest.TestCase):
    def test_works_without_raising_rlimit_memlock(self):
        # Linux >= 5.11 charges BPF memory to the memory cgroup; a DaemonSet without
        # CAP_SYS_RESOURCE cannot raise the limit, so vxtrace must not need to.
        b = LAB.receiver
        with Vxtrace(b.ns, "--iface", "eth0", wrapper=["prlimit", "--memlock=65536:65536"]) as vx:
            LAB.inject("a", "b", count=50, dport=7)
            _, summary = vx.stop()
        self.assertEqual(peer(summary, LAB.node("a").underlay_ip)["rx_packets"], 50)

    def test_malformed_vxlan_is_counted_not_fatal(self):
        a, b = LAB.node("a"), LAB.receiver
        with Vxtrace(b.ns, "--iface", "eth0") as vx:
            LAB.ns_exec(a.ns, [vxlab.PYTHON, "-c", MALFORMED, a.underlay_ip, b.underlay_ip, b.underlay_mac])
            drops, summary = vx.stop()
        self.assertEqual(peer(summary, a.underlay_ip)["rx_packets"], 60)
        self.assertEqual(summary["malformed_vxlan"], 60)
        for d in drops:
            if d["tunnel"] and d["tunnel"]["peer"] == a.underlay_ip:
                self.assertIsNone(d["flow"], "no inner flow invented from garbage")

    def test_short_frames_never_carry_a_stale_inner_flow(self):
        """Reads stop at the packet's end (linear bytes, IPv4 and UDP lengths): a 42-byte
        VXLAN-port frame dropped after a real VXLAN packet has no inner flow."""
        a, b = LAB.node("a"), LAB.receiver
        with Vxtrace(b.ns, "--iface", "eth0", "--causes", "all") as vx:
            LAB.ns_exec(a.ns, [vxlab.PYTHON, "-c", STALE, a.underlay_ip, b.underlay_ip, b.underlay_mac,
                               b.vxlan_mac, a.pod_ip, b.pod_ip])
            drops, summary = vx.stop()
        self.assertEqual(peer(summary, a.underlay_ip)["rx_packets"], 400)
        # The short frames' drops: less left than a VXLAN header and an inner IPv4 header.
        short = [d for d in drops if (d["tunnel"] or {}).get("peer") == a.underlay_ip
                 and d["len"] < 8 + 8 + 14 + 20]
        self.assertEqual(len(short), 200, f"the short frames' drops: {short[:2]}")
        self.assertEqual([d["flow"] for d in short if d["flow"]], [],
                         "a short frame reported with a stale inner flow")

    def test_full_ring_buffer_loses_detail_never_totals(self):
        b = LAB.receiver
        with Vxtrace(b.ns, "--iface", "eth0", "--ringbuf-kib", "4") as vx:
            vx.proc.send_signal(signal.SIGSTOP)  # a consumer that cannot keep up
            try:
                res = LAB.run_scenario("outer_csum", count=500, bad=500)
            finally:
                vx.proc.send_signal(signal.SIGCONT)
            drops, summary = vx.stop()
        self.assertTrue(res["ok"], res["checks"])
        a = peer(summary, LAB.node("a").underlay_ip)
        self.assertEqual((a["rx_packets"], a["drops"]), (500, 500), "totals are exact")
        streamed = [d for d in drops if d["cause"] == "checksum" and d["tunnel"]
                    and d["tunnel"]["peer"] == a["peer"]]
        self.assertLess(len(streamed), 500)
        self.assertGreaterEqual(summary["lost_events"], 500 - len(streamed), "every lost event counted")

    def test_event_rate_bounds_the_stream_in_the_kernel_not_the_totals(self):
        b = LAB.receiver
        # 100 events/s for the node: each CPU may burst up to one second of its share.
        with Vxtrace(b.ns, "--iface", "eth0", "--bpf-event-rate", "100") as vx:
            t0 = time.monotonic()
            res = LAB.run_scenario("outer_csum", count=800, bad=800)
            elapsed = time.monotonic() - t0
            drops, summary = vx.stop()
        self.assertTrue(res["ok"], res["checks"])
        a = peer(summary, LAB.node("a").underlay_ip)
        self.assertEqual((a["rx_packets"], a["drops"]), (800, 800), "totals are exact")
        streamed = [d for d in drops if d["cause"] == "checksum"]
        self.assertGreater(len(streamed), 0)
        self.assertLessEqual(len(streamed), 100 + 100 * elapsed + 1, "burst + refill at most")
        self.assertGreaterEqual(summary["events_rate_limited"], 800 - len(streamed) - summary["lost_events"])
        streamed_causes = sum(n for cause, n in summary["drops"].items() if cause != "background")
        self.assertEqual(summary["events"] + summary["lost_events"] + summary["events_rate_limited"],
                         streamed_causes, "every drop of a streamed cause accounted for")

    def test_event_rate_refills_while_drops_go_on(self):
        """The bucket refills once a tick, by the clock: drops spread over 3 s get more events
        than all the CPUs' first second of credit (20), and no more than the rate allows."""
        b, a = LAB.receiver, LAB.node("a")
        rate, batches, gap = 20, 7, 0.5
        with Vxtrace(b.ns, "--iface", "eth0", "--bpf-event-rate", str(rate)) as vx:
            t0 = time.monotonic()
            for i in range(batches):
                if i:
                    time.sleep(gap)
                LAB.inject("a", "b", count=100, bad_outer_csum=100, dport=5000, sport=41000 + i, seed=i + 1)
            elapsed = time.monotonic() - t0
            drops, summary = vx.stop()
        self.assertEqual(peer(summary, a.underlay_ip)["drops"], 100 * batches, "totals are exact")
        streamed = [d for d in drops if d["cause"] == "checksum" and (d["tunnel"] or {}).get("peer") == a.underlay_ip]
        self.assertGreater(len(streamed), rate, f"refilled while the drops went on ({elapsed:.1f} s)")
        self.assertLessEqual(len(streamed), rate + rate * elapsed + 2, "burst + refill at most")


if __name__ == "__main__":
    unittest.main()


class ByteNames(unittest.TestCase):
    def test_a_drop_on_a_device_named_in_bytes(self):
        """A device named 0xff 0xfe (names are bytes) drops a packet: the JSON stream lives on,
        with the name escaped, and its summary still comes."""
        b = LAB.receiver
        pod = b.pod_ns
        try:
            # The byte-named end in node b, its peer in pod b1: a datagram from the pod arrives
            # on it (between two addresses of one namespace it would go through lo).
            script = ("ip link add $'\\xff\\xfe' type veth peer name vxtbyte0 netns " + pod +
                      " && ip link set dev $'\\xff\\xfe' up"
                      " && ip addr add 203.0.113.201/32 dev $'\\xff\\xfe'"
                      " && ip netns exec " + pod + " ip link set vxtbyte0 up"
                      " && ip netns exec " + pod + " ip addr add 203.0.113.202/32 dev vxtbyte0"
                      " && ip netns exec " + pod + " ip route add 203.0.113.201/32 dev vxtbyte0"
                      " && ip route add 203.0.113.202/32 dev $'\\xff\\xfe'")
            subprocess.run(["ip", "netns", "exec", b.ns, "bash", "-c", script], check=True)
            with Vxtrace(b.ns, "--iface", b.underlay_dev) as vx:
                # To a closed port on the byte-named device's address: a NO_SOCKET drop there.
                send = ("import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                        "s.bind(('203.0.113.202',0));[s.sendto(b'x',('203.0.113.201',9)) for _ in range(3)]")
                vxlab.run(["ip", "netns", "exec", pod, vxlab.PYTHON, "-c", send])
                drops, summary = vx.stop()
        finally:
            subprocess.run(["ip", "netns", "exec", pod, "ip", "link", "del", "vxtbyte0"], check=False)
        ours = [d for d in drops if d["ifname"] == "\\xff\\xfe"]
        self.assertEqual(len(ours), 3, [d["ifname"] for d in drops])
        self.assertTrue(summary["final"])


class Output(unittest.TestCase):
    def test_interval_summaries_then_a_final_one(self):
        proc = run_vxtrace(LAB.receiver.ns, "--iface", "eth0", "-o", "json", "--interval", "0.4",
                           "--duration", "1.5")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        kinds = [(o["type"], o.get("final")) for o in map(json.loads, proc.stdout.splitlines())]
        self.assertEqual(kinds[0], ("start", None))
        self.assertGreaterEqual(kinds.count(("summary", False)), 2)
        self.assertEqual(kinds[-1], ("summary", True))

    def test_text_mode_prints_one_line_per_drop_and_a_summary(self):
        b = LAB.receiver
        with vxlab.Lab.attach(LAB.prefix) as lab:  # same lab, not torn down here
            proc = subprocess.Popen(["ip", "netns", "exec", b.ns, VXTRACE, "--iface", "eth0",
                                     "--causes", "vxlan"], stdout=subprocess.PIPE, text=True)
            header = proc.stdout.readline()
            self.assertIn("watching: eth0[underlay tcx] vxlan.calico[overlay tcx]", header)
            proc.stdout.readline()  # column titles
            lab.run_scenario("unknown_vni", count=3)
            lines = [proc.stdout.readline() for _ in range(3)]
            proc.send_signal(signal.SIGINT)
            rest, _ = proc.communicate(timeout=20)
        for line in lines:
            self.assertRegex(line, r"vxlan +VXLAN_VNI_NOT_FOUND +vxlan_rcv\+0x[0-9a-f]+ +eth0 +udp "
                                   rf"{lab.node('a').pod_ip}:\d+ > {b.pod_ip}:\d+ +via {lab.node('a').underlay_ip} vni 999")
        self.assertIn("--- summary after", rest)
        self.assertRegex(rest, rf"{lab.node('a').underlay_ip} +3 +0 +3 +100.000%  vxlan=3")
