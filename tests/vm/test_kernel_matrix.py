"""The kernel matrix: every drop scenario of the lab attributed right, with exact counts, plus
attach/detach, on Debian's 5.10, 6.1 and 6.12 kernels (QEMU/TCG VMs) and on the host's own kernel.

    test_kernel_matrix.py --kernel 5.10 [--kernel host ...] [unittest options]
    VXT_KERNELS="host 6.12" test_kernel_matrix.py

Per kernel, tests/vm/lab.sh runs once (in the VM through run-vm.sh, or on the host directly) and
every scenario's output is checked by its own test method; each failure names the kernel. The
expectations are the same on every kernel: that is the point of the matrix. Where a kernel cannot
do something (tcx before 6.6), the test asserts exactly what vxtrace does instead.

Binaries: VXTRACE_BIN (default build/loader/vxtrace), VXINJECT_BIN and VXLISTEN_BIN (default:
lab/vxinject and lab/vxlisten of the same build directory).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VXTRACE = Path(os.environ.get("VXTRACE_BIN", ROOT / "build" / "loader" / "vxtrace"))
VXINJECT = Path(os.environ.get("VXINJECT_BIN", VXTRACE.parents[1] / "lab" / "vxinject"))
VXLISTEN = Path(os.environ.get("VXLISTEN_BIN", VXTRACE.parents[1] / "lab" / "vxlisten"))
KERNELS = ("host", "5.10", "6.1", "6.12")
A_UL = "192.0.2.65"  # lab.sh's node a (the sender) and b (vxtrace's node)
B_UL = "192.0.2.66"
POD_PREFIX = "10.252."
VM_TIMEOUT_S = 360  # a VM run takes ~65 s; ctest gives the whole test 600 s

# What each scenario provokes: (cause, count, tunnel source) of the drops vxtrace must report.
DROPS = {
    "outer_csum": ("checksum", 37, "outer"),
    "inner_csum_tcp": ("checksum", 50, "joined"),
    "inner_csum_udp": ("checksum", 50, "joined"),
    "rp_filter": ("rp_filter", 50, "joined"),
    "conntrack_invalid": ("conntrack", 50, "joined"),
    "netfilter": ("netfilter", 50, "joined"),
    "unknown_vni": ("vxlan", 50, "outer"),
}
# The kernel's own counters each scenario must move (the lab's ground truth, not vxtrace's).
COUNTERS = {
    "outer_csum": {"b_UdpInCsumErrors": 37, "b1_UdpInDatagrams": 963},
    "inner_csum_tcp": {"b1_TcpInCsumErrors": 50, "b_UdpInCsumErrors": 0, "b_vxlan_rx_packets": 50},
    "inner_csum_udp": {"b1_UdpInCsumErrors": 50, "b_UdpInCsumErrors": 0, "b_vxlan_rx_packets": 50},
    "rp_filter": {"b_TcpExtIPReversePathFilter": 50},
    "conntrack_invalid": {"b_rule_packets": 50},
    "netfilter": {"b_rule_packets": 50},
    "unknown_vni": {"b_UdpInDatagrams": 50, "b_vxlan_rx_packets": 0},
    "event_rate": {"b_UdpInCsumErrors": 300},
    "healthy": {"ping_replies": 5, "b_UdpInCsumErrors": 0, "b_TcpExtIPReversePathFilter": 0},
}


def kernel_version(release: str) -> tuple[int, int]:
    major, minor = release.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


class Scenario:
    """One scenario's share of lab.sh's output."""

    def __init__(self, name: str):
        self.name = name
        self.begin: dict = {}
        self.sent: list[dict] = []
        self.start: dict | None = None
        self.drops: list[dict] = []
        self.summaries: list[dict] = []
        self.exit: dict | None = None
        self.counters: dict | None = None
        self.doctor: dict | None = None
        self.ended = False


class LabRun:
    """lab.sh's output parsed: the lab's description, scenarios by name, and the raw text."""

    def __init__(self, text: str, rc: int, stderr: str, wall_s: float):
        self.text, self.rc, self.stderr, self.wall_s = text, rc, stderr, wall_s
        self.up: dict | None = None
        self.done: dict | None = None
        self.errors: list[str] = []
        self.scenarios: dict[str, Scenario] = {}
        self.log: list[str] = []
        cur: Scenario | None = None
        for line in text.splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                self.log.append(line)
                continue
            if not isinstance(obj, dict):
                self.log.append(line)
                continue
            lab = obj.get("lab")
            if lab == "up":
                self.up = obj
            elif lab == "done":
                self.done = obj
            elif lab == "error":
                self.errors.append(obj["message"])
            elif lab == "begin":
                cur = self.scenarios[obj["scenario"]] = Scenario(obj["scenario"])
                cur.begin = obj
            elif cur is None:
                self.log.append(line)
            elif lab == "sent":
                cur.sent.append(obj["summary"])
            elif lab == "vxtrace_exit":
                cur.exit = obj
            elif lab == "counters":
                cur.counters = obj
            elif lab == "doctor":
                cur.doctor = obj
            elif lab == "end":
                cur.ended = True
            elif obj.get("type") == "start":
                cur.start = obj
            elif obj.get("type") == "drop":
                cur.drops.append(obj)
            elif obj.get("type") == "summary":
                cur.summaries.append(obj)

    @property
    def netns(self) -> set[int]:
        return set((self.up or {}).get("netns", {}).values())


def run_lab(kernel: str) -> LabRun:
    """lab.sh on the host or in kernel's VM; its output, parsed. Prints the wall time."""
    for binary in (VXTRACE, VXINJECT, VXLISTEN):
        if not binary.is_file():
            raise unittest.SkipTest(f"{binary} is not built")
    t0 = time.monotonic()
    env = dict(os.environ)
    if kernel == "host":
        env.update(VXTRACE=str(VXTRACE), VXINJECT=str(VXINJECT), VXLISTEN=str(VXLISTEN),
                   VXT_START_TIMEOUT="20")
        cmd = ["sh", str(HERE / "lab.sh")]
        timeout = 300
    else:
        env.setdefault("VXT_VM_TIMEOUT", str(VM_TIMEOUT_S))
        cmd = ["bash", str(HERE / "run-vm.sh"), kernel, str(HERE / "lab.sh"),
               f"{VXTRACE}=vxtrace", f"{VXINJECT}=vxinject", f"{VXLISTEN}=vxlisten"]
        timeout = VM_TIMEOUT_S + 150  # fetching a kernel and building its image come first
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    wall = time.monotonic() - t0
    run = LabRun(proc.stdout, proc.returncode, proc.stderr, wall)
    for line in proc.stderr.splitlines():
        if line.startswith("run-vm[") or line.startswith("fetch-kernel["):
            print(line, file=sys.stderr)
    print(f"kernel-matrix[{kernel}]: lab exit {proc.returncode}, wall {wall:.1f} s", file=sys.stderr)
    return run


class KernelMatrix(unittest.TestCase):
    """Scenario checks for one kernel; subclassed per kernel with `kernel` set."""

    kernel = ""
    run_: LabRun

    @classmethod
    def setUpClass(cls):
        cls.run_ = run_lab(cls.kernel)
        cls.release = (cls.run_.up or {}).get("kernel", "")
        print(report(cls.kernel, cls.run_), file=sys.stderr)

    # ---- helpers

    def fail_k(self, what: str) -> None:
        self.fail(f"[{self.kernel}] {what}")

    def scenario(self, name: str) -> Scenario:
        run = self.run_
        if run.up is None:
            self.fail_k(f"the lab did not come up (exit {run.rc}): {' | '.join(run.errors)}\n"
                        + "\n".join((run.log + run.stderr.splitlines())[-30:]))
        sc = run.scenarios.get(name)
        if sc is None or not sc.ended:
            self.fail_k(f"{name}: the lab did not run it to its end (exit {run.rc}): "
                        + " | ".join(run.errors) + "\n" + "\n".join(run.log[-20:]))
        return sc

    def tcx_expected(self) -> bool:
        return kernel_version(self.release) >= (6, 6)

    def started(self, sc: Scenario, hooks: tuple[str, str] | None = None) -> None:
        """vxtrace attached (start line), exited 0 on SIGINT with one final summary."""
        if sc.start is None:
            ex = sc.exit or {}
            self.fail_k(f"{sc.name}: vxtrace did not start (exit {ex.get('rc')}): "
                        f"{ex.get('stderr', '').strip()}")
        self.assertEqual(sc.exit["rc"], 0,
                         f"[{self.kernel}] {sc.name}: vxtrace exit status after SIGINT; stderr: {sc.exit['stderr']}")
        finals = [s for s in sc.summaries if s.get("final")]
        self.assertEqual(len(finals), 1, f"[{self.kernel}] {sc.name}: final summary lines")
        want = hooks or (("tcx", "tcx") if self.tcx_expected() else ("clsact", "clsact"))
        got = [(a["ifname"], a["hook"]) for a in sc.start["attached"]]
        self.assertEqual(got, [("eth0", want[0]), ("vxlan.calico", want[1]), ("*", "tp_btf")],
                         f"[{self.kernel}] {sc.name}: start line's attached[]")

    def lab_counters(self, sc: Scenario) -> None:
        """The lab provoked exactly what it should (else the failure is the lab's, not vxtrace's)."""
        want = COUNTERS.get(sc.name, {})
        got = {k: (sc.counters or {}).get(k) for k in want}
        self.assertEqual(got, want, f"[{self.kernel}] {sc.name}: the lab's kernel counters "
                                    f"(the drops were not provoked as intended)")

    def ours(self, sc: Scenario) -> list[dict]:
        """Drops in the lab's namespaces, or of its traffic (kfree_skb sees the whole machine)."""
        def mine(d: dict) -> bool:
            flow, tun = d.get("flow") or {}, d.get("tunnel") or {}
            return (d.get("netns") in self.run_.netns or tun.get("peer") == A_UL
                    or str(flow.get("src", "")).startswith(POD_PREFIX)
                    or str(flow.get("dst", "")).startswith(POD_PREFIX))
        return [d for d in sc.drops if mine(d)]

    @staticmethod
    def final_summary(sc: Scenario) -> dict:
        return [s for s in sc.summaries if s.get("final")][0]

    def peer_a(self, sc: Scenario) -> dict:
        final = self.final_summary(sc)
        for p in final["peers"]:
            if p["peer"] == A_UL:
                return p
        self.fail_k(f"{sc.name}: the final summary has no peer {A_UL}: {final['peers']}")

    @staticmethod
    def describe(drops: list[dict]) -> str:
        c = collections.Counter((d["cause"], d["reason"], d["location"].split("+")[0],
                                 (d.get("tunnel") or {}).get("source")) for d in drops)
        return ", ".join(f"{n}x {cause}/{reason}@{loc} tunnel={src}" for (cause, reason, loc, src), n
                         in c.most_common())

    def check_drops(self, name: str) -> tuple[Scenario, list[dict], dict]:
        cause, count, source = DROPS[name]
        sc = self.scenario(name)
        self.started(sc)  # first: without vxtrace the lab provokes nothing, and says so
        self.lab_counters(sc)
        ours = self.ours(sc)
        seen = [d for d in ours if d["cause"] != "background"]
        causes = collections.Counter(d["cause"] for d in seen)
        if cause == "conntrack":
            # conntrack by its rule: named only when vxtrace is certain (a trace of the packet, or
            # a clean counter window); a drop whose rule stays unknown stays `netfilter`, rule null.
            for d in seen:
                if d["cause"] == "netfilter":
                    self.assertIsNone(d.get("rule"), f"[{self.kernel}] {name}: {json.dumps(d)}")
                else:
                    self.assertEqual(d["rule"]["comment"], "vxm-ct-invalid", f"[{self.kernel}] {name}")
            causes = collections.Counter({cause: causes["conntrack"] + causes.pop("netfilter", 0),
                                          **{k: v for k, v in causes.items() if k != "conntrack"}})
        self.assertEqual(dict(causes), {cause: count},
                         f"[{self.kernel}] {name}: drop events by cause (background aside); "
                         f"reported: {self.describe(ours)}")
        for d in seen:
            tun = d.get("tunnel") or {}
            self.assertEqual((tun.get("peer"), tun.get("local"), tun.get("source")), (A_UL, B_UL, source),
                             f"[{self.kernel}] {name}: tunnel of {json.dumps(d)}")
        a = self.peer_a(sc)
        if cause == "conntrack":
            a = dict(a, by_cause={cause: sum(a["by_cause"].get(c, 0) for c in ("conntrack", "netfilter")),
                                  **{k: v for k, v in a["by_cause"].items() if k not in ("conntrack", "netfilter")}})
        self.assertEqual(a["by_cause"], {cause: count},
                         f"[{self.kernel}] {name}: peer {A_UL} in the final summary: {a}")
        self.assertEqual(a["drops"], count, f"[{self.kernel}] {name}: peer {A_UL} drops: {a}")
        return sc, seen, a

    # ---- the scenarios

    def test_outer_csum(self):
        sc, seen, a = self.check_drops("outer_csum")
        self.assertEqual((a["rx_packets"], a["decapsulated"], a["drops"]), (1000, 963, 37),
                         f"[{self.kernel}] outer_csum: peer {A_UL} rx_packets/decapsulated/drops: {a}")
        self.assertAlmostEqual(a["drop_ratio"], 0.037, msg=f"[{self.kernel}] outer_csum drop_ratio")

    def test_inner_csum_tcp(self):
        self.check_drops("inner_csum_tcp")

    def test_inner_csum_udp(self):
        self.check_drops("inner_csum_udp")

    def test_rp_filter(self):
        self.check_drops("rp_filter")

    def test_conntrack_invalid(self):
        self.check_drops("conntrack_invalid")

    def test_netfilter(self):
        self.check_drops("netfilter")

    def test_unknown_vni(self):
        sc, seen, a = self.check_drops("unknown_vni")
        self.assertEqual({(d.get("tunnel") or {}).get("vni") for d in seen}, {999},
                         f"[{self.kernel}] unknown_vni: tunnel.vni of the drops")
        self.assertEqual((a["rx_packets"], a["decapsulated"]), (50, 0),
                         f"[{self.kernel}] unknown_vni: peer {A_UL} rx_packets/decapsulated: {a}")

    def test_rcvbuf_full(self):
        """Good datagrams freed for a full socket buffer are never a checksum drop."""
        sc = self.scenario("rcvbuf_full")
        full = (sc.counters or {}).get("b1_UdpRcvbufErrors", 0)
        self.assertGreater(full, 100, f"[{self.kernel}] rcvbuf_full: the lab dropped too few")
        causes = collections.Counter(d["cause"] for d in self.ours(sc) if d["cause"] != "background")
        self.assertEqual(causes, {"other": full}, f"[{self.kernel}] rcvbuf_full: {self.describe(self.ours(sc))}")

    def test_event_rate(self):
        """--bpf-event-rate: the token bucket streams a few events, counts every drop, and
        every drop of a streamed cause is an event, a lost event or a rate-limited one."""
        sc = self.scenario("event_rate")
        self.started(sc)
        self.lab_counters(sc)
        a = self.peer_a(sc)
        self.assertEqual((a["by_cause"], a["drops"]), ({"checksum": 300}, 300),
                         f"[{self.kernel}] event_rate: peer {A_UL} counts every drop: {a}")
        streamed = [d for d in self.ours(sc) if d["cause"] == "checksum"]
        final = self.final_summary(sc)
        # A second of credit per CPU (10/s shared by the VM's CPUs), plus what the seconds of
        # the scenario refill: far below 300.
        self.assertTrue(1 <= len(streamed) <= 60, f"[{self.kernel}] event_rate: {len(streamed)} events streamed")
        self.assertGreaterEqual(final["events_rate_limited"], 300 - len(streamed) - final["lost_events"],
                                f"[{self.kernel}] event_rate: {final}")
        self.assertEqual(final["events"] + final["lost_events"] + final["events_rate_limited"],
                         sum(final["drops"].values()),
                         f"[{self.kernel}] event_rate: every drop accounted for (--causes all): {final}")

    def test_doctor(self):
        """doctor's node checks and live window on this kernel: the VNI mismatch is named
        (kernels before 6.3 give no VXLAN_VNI_NOT_FOUND: the dropped packets' VNI tells) and
        rp_filter's drops on vxlan.calico are counted, with the kernel's counter as witness."""
        sc = self.scenario("doctor")
        doc = sc.doctor or {}
        report = doc.get("report") or {}
        self.assertEqual(doc.get("rc"), 1, f"[{self.kernel}] doctor exit code (1: findings): {doc}")
        findings = {f["id"]: f for f in report.get("findings", [])}
        vni = findings.get("vxlan_vni_mismatch")
        self.assertIsNotNone(vni, f"[{self.kernel}] doctor findings: {sorted(findings)}")
        self.assertEqual(vni["run_on"], f"node {A_UL}", f"[{self.kernel}] {vni}")
        self.assertEqual(vni["evidence"]["drops"], 50, f"[{self.kernel}] {vni}")
        self.assertEqual(sc.counters.get("b_TcpExtIPReversePathFilter"), 50, f"[{self.kernel}]")
        rpf = [f for f in findings.values() if f["id"].startswith("rp_filter")]
        self.assertTrue(rpf, f"[{self.kernel}] no rp_filter finding: {sorted(findings)}")
        self.assertIn("50", json.dumps(rpf[0]["evidence"]), f"[{self.kernel}] {rpf[0]}")

    def test_healthy(self):
        sc = self.scenario("healthy")
        self.started(sc)
        self.lab_counters(sc)
        ours = self.ours(sc)
        self.assertEqual([d for d in ours if d["cause"] != "background"], [],
                         f"[{self.kernel}] healthy: drops of real pod traffic: {self.describe(ours)}")
        a = self.peer_a(sc)
        self.assertGreaterEqual(a["rx_packets"], 5, f"[{self.kernel}] healthy: peer {A_UL}: {a}")
        self.assertEqual((a["decapsulated"], a["drops"]), (a["rx_packets"], 0),
                         f"[{self.kernel}] healthy: every packet reached vxlan.calico, none dropped: {a}")

    def check_detached(self, sc: Scenario, filters_while_attached: int) -> None:
        c = sc.counters or {}
        self.assertEqual(c.get("during_live_progs"), 3, f"[{self.kernel}] {sc.name}: programs while attached: {c}")
        self.assertEqual(c.get("during_tc_filters"), filters_while_attached,
                         f"[{self.kernel}] {sc.name}: tc filters while attached: {c}")
        self.assertEqual((c.get("after_tc_filters"), c.get("after_live_progs")), (0, 0),
                         f"[{self.kernel}] {sc.name}: left behind after exit: {c.get('tc_show_after')!r}, "
                         f"programs {c.get('prog_ids')}")
        if self.kernel != "host":  # the host may run other tests' vxtrace at the same time
            self.assertEqual(c.get("after_vxt_progs_anywhere"), 0,
                             f"[{self.kernel}] {sc.name}: vxt_* programs left in the VM (bpftool prog show)")
        self.assertEqual(c.get("ping_replies"), 3, f"[{self.kernel}] {sc.name}: pings while attached")
        a = self.peer_a(sc)
        self.assertGreaterEqual(a["rx_packets"], 3, f"[{self.kernel}] {sc.name}: packets seen: {a}")

    def test_attach_clsact(self):
        sc = self.scenario("attach_clsact")
        self.started(sc, hooks=("clsact", "clsact"))
        self.check_detached(sc, filters_while_attached=2)

    def test_stale_clsact(self):
        """SIGKILL leaves clsact filters; the next start removes exactly vxtrace's own."""
        sc = self.scenario("stale_clsact")
        self.started(sc, hooks=("clsact", "clsact"))
        c = sc.counters or {}
        self.assertEqual(c.get("left_by_sigkill"), 2, f"[{self.kernel}] stale_clsact: {c}")
        self.assertEqual(c.get("during_tc_filters"), 2,
                         f"[{self.kernel}] stale_clsact: filters beside the stale ones: {c}")
        self.assertEqual(c.get("after_tc_filters"), 0, f"[{self.kernel}] stale_clsact: {c}")
        said = (sc.exit or {}).get("stderr", "").count("removed a stale vxtrace filter")
        self.assertEqual(said, 2, f"[{self.kernel}] stale_clsact: stderr {sc.exit}")
        if self.kernel != "host":
            self.assertEqual(c.get("after_vxt_progs_anywhere"), 0, f"[{self.kernel}] stale_clsact: {c}")

    def test_attach_tcx(self):
        sc = self.scenario("attach_tcx")
        if self.tcx_expected():
            self.started(sc, hooks=("tcx", "tcx"))
            self.check_detached(sc, filters_while_attached=0)
            return
        # Before 6.6 there is no tcx: one line that says so, a non-zero exit, nothing attached.
        ex = sc.exit or {}
        self.assertIsNone(sc.start, f"[{self.kernel}] attach_tcx: vxtrace attached with tcx on {self.release}")
        self.assertNotEqual(ex.get("rc"), 0, f"[{self.kernel}] attach_tcx: exit status without tcx")
        err = ex.get("stderr", "").strip().splitlines()
        self.assertEqual(len(err), 1, f"[{self.kernel}] attach_tcx: the error is one line: {err}")
        self.assertIn("tcx", err[0], f"[{self.kernel}] attach_tcx: the error names tcx: {err}")
        self.assertIn("6.6", err[0], f"[{self.kernel}] attach_tcx: the error names the version: {err}")
        c = sc.counters or {}
        self.assertEqual((c.get("after_tc_filters"), c.get("after_vxt_progs_anywhere")), (0, 0),
                         f"[{self.kernel}] attach_tcx: left behind by the refused start: {c}")


def report(kernel: str, run: LabRun) -> str:
    """A per-scenario table for the log: what was provoked and what vxtrace reported."""
    lines = [f"kernel-matrix[{kernel}]: {(run.up or {}).get('kernel', '?')}, lab {run.wall_s:.1f} s wall"]
    for name, sc in run.scenarios.items():
        if getattr(sc, "doctor", None) is not None:  # vxtrace doctor: its exit and finding ids
            ids = [f.get("id") for f in (sc.doctor.get("report") or {}).get("findings", [])]
            lines.append(f"  {name:18} doctor exit {sc.doctor.get('rc')}, findings {ids}")
            continue
        if sc.start is None:
            err = (sc.exit or {}).get("stderr", "").strip().replace("\n", " | ")
            lines.append(f"  {name:18} vxtrace did not start (exit {(sc.exit or {}).get('rc')}): {err[:300]}")
            continue
        causes = collections.Counter(d["cause"] for d in sc.drops)
        hooks = ",".join(a["hook"] for a in sc.start["attached"][:2])
        lines.append(f"  {name:18} hooks {hooks:13} drops {dict(causes)} start {(sc.exit or {}).get('start_s')} s")
    return "\n".join(lines)


def suite_for(kernels: list[str]) -> unittest.TestSuite:
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for k in kernels:
        cls = type(f"Kernel_{k.replace('.', '_')}", (KernelMatrix,), {"kernel": k})
        suite.addTests(loader.loadTestsFromTestCase(cls))
    return suite


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", action="append", choices=KERNELS,
                    help="host, 5.10, 6.1 or 6.12 (repeatable; default: $VXT_KERNELS or all)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    kernels = args.kernel or os.environ.get("VXT_KERNELS", " ".join(KERNELS)).split()
    result = unittest.TextTestRunner(verbosity=2 if args.verbose else 1).run(suite_for(kernels))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
