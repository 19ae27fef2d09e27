"""The JSON stream under a drop storm: bounded volume, every drop accounted for (written,
folded into a repeat line, or counted as suppressed), lost ring buffer events counted,
memory bounded; and every line the agent and `vxtrace -o json` write matches the JSON
Schema in deploy/schema."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import unittest
from pathlib import Path

import jsonschema

from agent_run import POD_NET, ROOT, UNDERLAY, VXTRACE, Agent, metric
import vxlab

SCHEMA = json.loads((ROOT / "deploy" / "schema" / "vxtrace-events.schema.json").read_text())
STORM = str(Path(__file__).with_name("storm.py"))
REPORT = os.environ.get("VXTRACE_AGENT_REPORT")  # idle/storm CPU and memory, when asked for


def setUpModule():
    global LAB
    LAB = vxlab.Lab(underlay=UNDERLAY, pod_net=POD_NET).up()


def tearDownModule():
    LAB.down()


def storm(count: int, flows: int) -> float:
    """count bad-outer-checksum frames a -> b over `flows` inner flows; seconds it took."""
    a, b = LAB.node("a"), LAB.receiver
    t0 = time.monotonic()
    out = LAB.ns_exec(a.ns, [vxlab.PYTHON, STORM, a.underlay_ip, b.underlay_ip, b.underlay_mac, a.vxlan_mac,
                             b.vxlan_mac, a.pod_ip, b.pod_ip, str(count), str(flows)], timeout=300)
    assert int(out.stdout.split()[-1]) == count
    return time.monotonic() - t0


def assert_valid(test: unittest.TestCase, lines: list[dict]) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for line in lines:
        errors = sorted(validator.iter_errors(line), key=lambda e: e.path)
        test.assertEqual(errors, [], json.dumps(line))


class Storm(unittest.TestCase):
    def check_accounting(self, ag: Agent) -> dict:
        """received = drop lines + repeats + suppressed, each from the lines and from the counters."""
        final = ag.of_type("summary")[-1]
        self.assertTrue(final["final"])
        s = final["stream"]
        self.assertEqual(s["received"], s["written"] + s["repeated"] + s["suppressed_rate"] + s["suppressed_keys"])
        self.assertEqual(len(ag.of_type("drop")), s["written"])
        self.assertEqual(sum(r["count"] for r in ag.of_type("repeat")), s["repeated"])
        sup = ag.of_type("suppressed")
        self.assertEqual(sum(l["count"] for l in sup), s["suppressed_rate"] + s["suppressed_keys"])
        for l in sup:
            self.assertEqual(l["count"], l["by_limit"]["rate"] + l["by_limit"]["keys"])
            self.assertEqual(l["count"], sum(l["by_cause"].values()))
        self.assertEqual(s["received"], final["events"], "every submitted event was read")
        return final

    def test_storm_is_bounded_and_nothing_is_lost_silently(self):
        count, flows, rate, burst = 20000, 300, 50, 50
        with Agent(LAB.receiver.ns, "-i", "eth0", "--events-rate", str(rate), "--events-burst", str(burst),
                   "--events-window", "1", "--events-max-flows", "100") as ag:
            time.sleep(1)
            idle_rss, idle_cpu = ag.rss_kib(), ag.cpu_seconds()
            t0 = time.monotonic()
            took = storm(count, flows)
            m = ag.wait_for(lambda: (m := ag.metrics()) and metric(
                m, "vxtrace_peer_drops_total", peer=LAB.node("a").underlay_ip, cause="checksum") == count and m, 10)
            storm_cpu = ag.cpu_seconds() - idle_cpu
            peak_rss = ag.rss_kib("VmHWM")
            code, _ = ag.stop()
            elapsed = time.monotonic() - t0
        self.assertEqual(code, 0, ag.stderr)
        self.assertTrue(m, "exact per-peer count after the storm")
        final = self.check_accounting(ag)
        self.assertGreaterEqual(final["stream"]["received"], count - final["lost_events"])
        self.assertGreater(final["stream"]["suppressed_rate"], 0)
        self.assertGreater(final["stream"]["suppressed_keys"], 0)
        self.assertGreater(final["stream"]["repeated"], 0)
        written = len(ag.of_type("drop")) + len(ag.of_type("repeat"))
        self.assertLessEqual(written, burst + rate * (elapsed + 1), "drop+repeat lines within the rate limit")
        self.assertLessEqual(len(ag.of_type("suppressed")), elapsed + 2, "at most one suppressed line a window")
        self.assertLess(peak_rss - idle_rss, 16 * 1024, "memory bounded under the storm")
        assert_valid(self, ag.lines)
        if REPORT:
            Path(REPORT).write_text(json.dumps({
                "storm_frames": count, "storm_seconds": round(took, 2), "flows": flows,
                "idle_rss_kib": idle_rss, "peak_rss_kib": peak_rss,
                "storm_cpu_seconds": round(storm_cpu, 3), "lines_written": len(ag.lines),
                "stream": final["stream"], "lost_events": final["lost_events"]}, indent=1) + "\n")

    def test_full_ring_buffer_is_counted_in_metrics_and_summary(self):
        with Agent(LAB.receiver.ns, "-i", "eth0", "--ringbuf-kib", "4") as ag:
            ag.proc.send_signal(signal.SIGSTOP)  # a consumer that cannot keep up
            try:
                storm(3000, 10)
            finally:
                ag.proc.send_signal(signal.SIGCONT)
            m = ag.wait_for(lambda: (m := ag.metrics()) and metric(
                m, "vxtrace_peer_drops_total", peer=LAB.node("a").underlay_ip, cause="checksum") == 3000 and m, 10)
            code, _ = ag.stop()
        self.assertEqual(code, 0, ag.stderr)
        self.assertTrue(m)
        lost = metric(m, "vxtrace_lost_events_total")
        self.assertGreater(lost, 0)
        final = self.check_accounting(ag)
        self.assertGreaterEqual(final["lost_events"], lost)
        self.assertEqual(final["events"] + final["lost_events"] >= 3000, True, "every drop was an event or lost")
        assert_valid(self, ag.lines)


class UnwritableOutput(unittest.TestCase):
    def test_lines_the_output_refuses_are_counted_not_written(self):
        """--events /dev/full: every line fails (ENOSPC); the agent keeps serving, and
        /metrics says how many lines never got out."""
        from agent_run import http_get, parse_metrics
        ns = LAB.receiver.ns
        proc = subprocess.Popen(["ip", "netns", "exec", ns, VXTRACE, "agent", "-i", "eth0",
                                 "--listen", "127.0.0.1:9476", "--events", "/dev/full"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and http_get(ns, "/readyz")[0] != 200:
                time.sleep(0.1)
            storm(50, 5)
            errors = 0
            while time.monotonic() < deadline + 10:
                status, body = http_get(ns, "/metrics")
                m = parse_metrics(body) if status == 200 else {}
                errors = metric(m, "vxtrace_output_write_errors_total") or 0
                written = metric(m, "vxtrace_stream_events_total", outcome="written") or 0
                if errors >= 1 + written:  # the start line, and every drop line handed over
                    break
                time.sleep(0.2)
            self.assertGreaterEqual(written, 1)
            self.assertGreaterEqual(errors, 1 + written)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=15)
        self.assertEqual(proc.returncode, 0, err)


class Schema(unittest.TestCase):
    def test_trace_mode_output_matches_the_schema(self):
        b = LAB.receiver
        proc = subprocess.Popen(["ip", "netns", "exec", b.ns, VXTRACE, "-o", "json", "-i", "eth0", "--interval", "0.5"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = json.loads(proc.stdout.readline())
            self.assertEqual(first["type"], "start")
            for scenario in ("outer_csum", "rp_filter", "ct_invalid", "unknown_vni", "inner_csum_tcp"):
                self.assertTrue(LAB.run_scenario(scenario)["ok"], scenario)
            time.sleep(0.6)
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(20)
        lines = [first] + [json.loads(l) for l in out.splitlines()]
        kinds = {l["type"] for l in lines}
        self.assertTrue({"start", "drop", "summary"} <= kinds, kinds)
        self.assertTrue(any(l["type"] == "drop" and l["flow"] and "tcp_flags" in l["flow"] for l in lines))
        assert_valid(self, lines)

    def test_schema_rejects_what_it_should(self):
        validator = jsonschema.Draft202012Validator(SCHEMA)
        self.assertFalse(validator.is_valid({"type": "drop", "ts": "yesterday"}))
        self.assertFalse(validator.is_valid({"type": "nonsense"}))
        self.assertFalse(validator.is_valid({"type": "suppressed", "ts": "2026-01-01T00:00:00.000000000Z",
                                             "node": "n", "window_s": 1, "count": 1,
                                             "by_cause": {"bogus": 1}, "by_limit": {"rate": 1, "keys": 0}}))


if __name__ == "__main__":
    unittest.main()
