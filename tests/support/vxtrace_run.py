"""Runs the real vxtrace binary inside a lab namespace and collects its JSON lines.

The test waits for the `start` line (every program attached) before provoking
anything, and stops vxtrace with SIGINT so the final summary is printed.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

VXTRACE = os.environ.get("VXTRACE_BIN", str(ROOT / "build" / "loader" / "vxtrace"))


class JsonProcess:
    """The harness the trace and the agent tests share: `cmd` under Popen, its JSON stdout
    lines in `lines` and its stderr in `stderr` as they come. `with` returns once the `start`
    line is out and `ready()` holds, and kills the process and closes its pipes on the way out."""

    name = "process"  # for errors

    def __init__(self, cmd: list[str], start_timeout: float):
        self.cmd = cmd
        self.start_timeout = start_timeout
        self.lines: list[dict] = []
        self.arrivals: list[float] = []  # when each of `lines` was read
        self.stderr = ""
        self.start: dict | None = None
        self._lock = threading.Lock()
        self._started = threading.Event()  # the start line, or stdout closed without one

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_reader.start()
        if not self._started.wait(self.start_timeout) or self.start is None or not self.ready():
            self.__exit__()
            raise RuntimeError(f"{self.name} did not start: {' '.join(self.cmd)}\n{self.stderr}")
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.kill()
        self._reader.join(5)
        self._err_reader.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def ready(self) -> bool:
        """After the start line: whatever else must hold before the test goes on."""
        return True

    def _read(self) -> None:
        for line in self.proc.stdout:
            obj = json.loads(line)
            with self._lock:
                self.lines.append(obj)
                self.arrivals.append(time.time())  # wall clock, as the lines' "ts"
            if obj["type"] == "start":
                self.start = obj
                self._started.set()
        self._started.set()

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr += line

    def of_type(self, kind: str) -> list[dict]:
        with self._lock:
            return [l for l in self.lines if l["type"] == kind]

    @staticmethod
    def wait_for(pred, timeout: float, step: float = 0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (v := pred()):
                return v
            time.sleep(step)
        return pred()

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(10)

    def _end(self, sig) -> float:
        """Signal the process, reap it and read its streams out: the seconds it took to exit."""
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(20)
        took = time.monotonic() - t0
        self._reader.join(5)
        self._err_reader.join(5)
        return took


class Vxtrace(JsonProcess):
    """`with Vxtrace(ns, args) as vx:` ... `vx.stop()` -> (drops, summary)."""

    name = "vxtrace"

    def __init__(self, ns: str, *args: str, wrapper: list[str] | None = None, start_timeout=15.0):
        super().__init__((wrapper or []) + ["ip", "netns", "exec", ns, VXTRACE, "-o", "json", *args],
                         start_timeout)

    def stop(self, settle: float = 0.5) -> tuple[list[dict], dict]:
        """SIGINT after `settle` seconds (late drops, e.g. socket reads); the drops and the summary."""
        time.sleep(settle)
        self._end(signal.SIGINT)
        if self.proc.returncode != 0:
            raise RuntimeError(f"vxtrace exited {self.proc.returncode}: {self.stderr}")
        summaries = [l for l in self.of_type("summary") if l.get("final")]
        if len(summaries) != 1:
            raise RuntimeError(f"expected one final summary, got {len(summaries)}: {self.stderr}")
        return self.of_type("drop"), summaries[0]


def run_vxtrace(ns: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """One-shot run (errors, --duration), capturing both streams."""
    return subprocess.run(["ip", "netns", "exec", ns, VXTRACE, *args], capture_output=True, text=True,
                          timeout=timeout)


def peer(summary: dict, addr: str) -> dict:
    for p in summary["peers"]:
        if p["peer"] == addr:
            return p
    return {"peer": addr, "rx_packets": 0, "drops": 0, "drop_ratio": 0.0, "by_cause": {}, "ratio_by_cause": {},
            "decapsulated": 0}


def netns_inode(ns: str) -> int:
    return os.stat(f"/run/netns/{ns}").st_ino


def prog_exists(prog_id: int) -> bool:
    return subprocess.run(["bpftool", "prog", "show", "id", str(prog_id)], capture_output=True).returncode == 0


def wait_gone(prog_ids: list[int], timeout: float = 5.0) -> list[int]:
    """Programs are freed after an RCU grace period, not at the owner's exit."""
    deadline = time.monotonic() + timeout
    while (left := [i for i in prog_ids if prog_exists(i)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left
