"""vxtrace's tc attachments do not outlive it: SIGHUP, SIGPIPE, a reader that went away and an
unwritable output all end in a clean detach, and on clsact (every kernel before 6.6) the filters
a SIGKILLed vxtrace could not remove are removed by the next vxtrace on the device: exactly
those, never a running vxtrace's and never anyone else's."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import unittest

from vxtrace_run import ROOT, VXTRACE, JsonProcess, Vxtrace, peer, prog_exists, wait_gone
import vxlab

UNDERLAY = "203.0.113.64/26"  # this module's own node addresses (.65-.67); test_observer has .1-.3
POD_NET = "10.247.0.0/16"
DEVICES = ("eth0", "vxlan.calico")
PEER_TC_PROG = os.environ.get("PEER_TC_PROG", str(ROOT / "build" / "bpf" / "peer_tc_counter.bpf.o"))
STALE_LINE = re.compile(r"removed a stale vxtrace filter from (\S+) \(ingress prio (\d+), prog (\d+)\) "
                        r"left by a vxtrace that did not exit cleanly")


def setUpModule():
    global LAB
    LAB = vxlab.Lab(underlay=UNDERLAY, pod_net=POD_NET).up()


def tearDownModule():
    LAB.down()


def tc(*args: str, check: bool = True) -> str:
    return LAB.ns_exec(LAB.receiver.ns, ["tc", *args], check=check).stdout


def filters(dev: str) -> list[dict]:
    """The BPF filters on dev's ingress (not the per-priority header entries)."""
    return [f for f in json.loads(tc("-j", "filter", "show", "dev", dev, "ingress") or "[]") if "options" in f]


def vxt_filters(dev: str) -> list[tuple[int, int]]:
    """(priority, program id) of every filter whose program is one of vxtrace's."""
    return [(f["pref"], f["options"]["prog"]["id"]) for f in filters(dev)
            if f["options"]["prog"]["name"].startswith("vxt_")]


def foreign_filters(dev: str) -> list[tuple[int, str, str]]:
    return [(f["pref"], f["options"]["handle"], f["options"]["prog"]["name"]) for f in filters(dev)
            if not f["options"]["prog"]["name"].startswith("vxt_")]


def clsact_progs(vx: Vxtrace) -> dict[str, int]:
    return {a["ifname"]: a["prog_id"] for a in vx.start["attached"] if a["hook"] == "clsact"}


def all_progs(vx: Vxtrace) -> list[int]:
    return [a["prog_id"] for a in vx.start["attached"]]


class VxtraceInOwnPidNamespace(Vxtrace):
    """vxtrace as PID 1 of a new PID namespace, as a container without hostPID runs it: its
    /proc shows no other process. Signals go to vxtrace itself (unshare does not forward them;
    --kill-child takes it down if the harness kills unshare)."""

    def __init__(self, ns: str, *args: str):
        super().__init__(ns, *args, wrapper=["unshare", "--pid", "--mount-proc", "--kill-child"])

    def _end(self, sig) -> float:
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
            child = int(f.read().split()[0])
        t0 = time.monotonic()
        os.kill(child, sig)
        self.proc.wait(20)
        took = time.monotonic() - t0
        self._reader.join(5)
        self._err_reader.join(5)
        return took


class ClsactCleanup(unittest.TestCase):
    def setUp(self):
        self.ns = LAB.receiver.ns

    def tearDown(self):
        # Whatever a test left (a SIGKILLed vxtrace's filters, the stand-in vendor's) goes
        # with the qdisc.
        for dev in DEVICES:
            tc("qdisc", "del", "dev", dev, "clsact", check=False)

    def add_foreign_filter(self, dev: str, pref: int, handle: str | None = None) -> None:
        tc("qdisc", "add", "dev", dev, "clsact", check=False)
        tc("filter", "add", "dev", dev, "ingress", "pref", str(pref), *(["handle", handle] if handle else []),
           "bpf", "da", "obj", PEER_TC_PROG, "sec", "tc/next")

    def vxtrace(self, *args: str, cls=Vxtrace) -> Vxtrace:
        return cls(self.ns, "--iface", "eth0", *args)

    def assert_nothing_left(self, prog_ids: list[int]) -> None:
        for dev in DEVICES:
            self.assertEqual(vxt_filters(dev), [], dev)
        self.assertEqual(wait_gone(prog_ids), [], "a program outlived vxtrace")

    # ---- a SIGKILLed vxtrace's filters

    def test_the_next_vxtrace_removes_exactly_the_filters_a_sigkilled_one_left(self):
        self.add_foreign_filter("eth0", 1, "0x7678")  # vxtrace's handle, another program
        self.add_foreign_filter("eth0", 2)  # tc's default handle
        foreign = foreign_filters("eth0")
        self.assertEqual(foreign, [(1, "0x7678", "peer_next"), (2, "0x1", "peer_next")])

        with self.vxtrace("--attach-mode", "clsact") as vx:
            killed = clsact_progs(vx)
            vx.kill(signal.SIGKILL)
        self.assertEqual(set(killed), set(DEVICES))
        left = {dev: vxt_filters(dev) for dev in DEVICES}
        self.assertEqual(left, {"eth0": [(3, killed["eth0"])], "vxlan.calico": [(1, killed["vxlan.calico"])]},
                         "SIGKILL leaves the filters (nothing in the process can run)")
        self.assertTrue(all(prog_exists(i) for i in killed.values()), "the filters hold their programs")

        with self.vxtrace("--attach-mode", "clsact") as vx:
            running = clsact_progs(vx)
            said = vx.wait_for(lambda: STALE_LINE.findall(vx.stderr) if len(STALE_LINE.findall(vx.stderr)) >= 2
                               else None, 5)
            self.assertEqual(sorted(said or []), sorted((dev, str(prio), str(prog))
                                                        for dev in DEVICES for prio, prog in left[dev]))
            for dev in DEVICES:
                self.assertEqual([p for _, p in vxt_filters(dev)], [running[dev]],
                                 f"{dev}: exactly one vxtrace filter, the running one's")
            self.assertEqual(vxt_filters("eth0")[0][0], 3, "in the stale one's place, behind the vendor's")
            self.assertEqual(foreign_filters("eth0"), foreign)
            ids = all_progs(vx)
            vx.stop()
        self.assertEqual(len(STALE_LINE.findall(vx.stderr)), 2, vx.stderr)
        self.assert_nothing_left(ids + list(killed.values()))
        self.assertEqual(foreign_filters("eth0"), foreign, "the vendor's filters are never touched")

    def check_a_running_vxtrace_keeps_its_filter(self, second_cls) -> None:
        with self.vxtrace("--attach-mode", "clsact") as one, \
                self.vxtrace("--attach-mode", "clsact", cls=second_cls) as two:
            mine = {dev: [p for _, p in vxt_filters(dev)] for dev in DEVICES}
            for dev in DEVICES:
                self.assertEqual(sorted(mine[dev]), sorted([clsact_progs(one)[dev], clsact_progs(two)[dev]]), dev)
            LAB.inject("a", "b", count=100, dport=7, payload_len=200)
            _, s2 = two.stop()
            _, s1 = one.stop()
        self.assertEqual(STALE_LINE.findall(two.stderr), [], two.stderr)
        for s in (s1, s2):
            self.assertEqual(peer(s, LAB.node("a").underlay_ip)["rx_packets"], 100, "both counted everything")
        self.assert_nothing_left(all_progs(one) + all_progs(two))

    def test_a_running_vxtraces_filter_is_kept(self):
        self.check_a_running_vxtrace_keeps_its_filter(Vxtrace)

    def test_a_running_vxtraces_filter_is_kept_when_seen_from_another_pid_namespace(self):
        # The second vxtrace's /proc shows only itself: the first one's claim (an abstract
        # socket in the network namespace) is what says it still runs.
        self.check_a_running_vxtrace_keeps_its_filter(VxtraceInOwnPidNamespace)

    # ---- clean exits: signals, a reader gone, an unwritable output

    def check_signal_detaches(self, sig: int, mode: str) -> None:
        with self.vxtrace("--attach-mode", mode) as vx:
            ids = all_progs(vx)
            self.assertEqual({a["hook"] for a in vx.start["attached"][:2]}, {mode})
            took = vx._end(sig)
        self.assertEqual(vx.proc.returncode, 0, vx.stderr)
        self.assertEqual(len([s for s in vx.of_type("summary") if s.get("final")]), 1, "the final summary")
        self.assertLess(took, 2.0)
        self.assert_nothing_left(ids)

    def test_sighup_detaches_with_clsact(self):
        self.check_signal_detaches(signal.SIGHUP, "clsact")

    def test_sighup_detaches_with_tcx(self):
        self.check_signal_detaches(signal.SIGHUP, "tcx")

    def test_sigpipe_detaches_with_clsact(self):
        self.check_signal_detaches(signal.SIGPIPE, "clsact")

    def test_sigpipe_detaches_with_tcx(self):
        self.check_signal_detaches(signal.SIGPIPE, "tcx")

    def check_head_1(self, mode: str) -> None:
        cmd = f"ip netns exec {self.ns} {VXTRACE} -o json --iface eth0 --attach-mode {mode} | head -1"
        t0 = time.monotonic()
        r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=30)
        took = time.monotonic() - t0
        start = json.loads(r.stdout)
        self.assertEqual(start["type"], "start")
        self.assertLessEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertLess(took, 5.0, "vxtrace noticed its reader was gone without writing again")
        self.assert_nothing_left([a["prog_id"] for a in start["attached"]])

    def test_head_1_leaves_nothing_with_clsact(self):
        self.check_head_1("clsact")

    def test_head_1_leaves_nothing_with_tcx(self):
        self.check_head_1("tcx")

    def test_an_unwritable_output_stops_with_one_error_line_and_detaches(self):
        for mode in ("clsact", "tcx"):
            for output in ("json", "text"):
                with self.subTest(mode=mode, output=output), open("/dev/full", "w") as full:
                    r = subprocess.run(["ip", "netns", "exec", self.ns, VXTRACE, "-o", output, "--iface", "eth0",
                                        "--attach-mode", mode], stdout=full, stderr=subprocess.PIPE,
                                       text=True, timeout=30)
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertEqual(r.stderr.splitlines(),
                                     ["vxtrace: error: cannot write output: No space left on device"])
                    for dev in DEVICES:
                        self.assertEqual(vxt_filters(dev), [], dev)

    # ---- the agent and doctor's live window

    def agent(self, *args: str) -> JsonProcess:
        return JsonProcess(["ip", "netns", "exec", self.ns, VXTRACE, "agent", "--iface", "eth0", "--listen",
                            "127.0.0.1:9479", "--attach-mode", "clsact", *args], 15.0)

    def test_the_agent_detaches_on_sighup_and_ignores_sigpipe(self):
        with self.agent() as ag:
            ids = all_progs(ag)
            self.assertEqual(len(vxt_filters("eth0")), 1)
            # SIGPIPE means nothing to the agent: a closed log pipe is counted, never fatal.
            ag.proc.send_signal(signal.SIGPIPE)
            time.sleep(0.5)
            self.assertIsNone(ag.proc.poll(), "the agent still runs")
            self.assertEqual(len(vxt_filters("eth0")), 1)
            took = ag._end(signal.SIGHUP)
        self.assertEqual(ag.proc.returncode, 0, ag.stderr)
        self.assertTrue([l for l in ag.of_type("summary") if l.get("final")], "the final summary")
        self.assertLess(took, 2.0)
        self.assert_nothing_left(ids)

    def test_sighup_ends_doctors_live_window_with_its_report(self):
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns, VXTRACE, "doctor", "--iface", "eth0", "-o", "json",
                                 "--duration", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            err = ""
            for line in proc.stderr:  # "observing drops for 60 s": everything is attached
                err += line
                if "observing drops" in line:
                    break
            t0 = time.monotonic()
            proc.send_signal(signal.SIGHUP)
            out, rest = proc.communicate(timeout=20)
            took = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertIn(proc.returncode, (0, 1), err + rest)  # healthy or findings, not killed
        self.assertEqual(json.loads(out)["type"], "doctor")
        self.assertLess(took, 3.0)
        for dev in DEVICES:
            self.assertEqual(vxt_filters(dev), [], dev)


if __name__ == "__main__":
    unittest.main()
