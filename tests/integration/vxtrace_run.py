"""Runs the real vxtrace binary inside a lab namespace and collects its JSON lines.

The test waits for the `start` line (every program attached) before provoking
anything, and stops vxtrace with SIGINT so the final summary is printed.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab"))

VXTRACE = os.environ.get("VXTRACE_BIN", str(ROOT / "build" / "loader" / "vxtrace"))


class Vxtrace:
    """`with Vxtrace(ns, args) as vx:` ... `vx.stop()` -> (drops, summary)."""

    def __init__(self, ns: str, *args: str, wrapper: list[str] | None = None, start_timeout=15.0):
        self.cmd = (wrapper or []) + ["ip", "netns", "exec", ns, VXTRACE, "-o", "json", *args]
        self.start_timeout = start_timeout
        self.lines: list[dict] = []
        self.stderr = ""
        self.start: dict | None = None
        self._started = threading.Event()

    def __enter__(self) -> "Vxtrace":
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_reader.start()
        if not self._started.wait(self.start_timeout) or self.start is None:
            if self.proc.poll() is None:
                self.kill()
            self.proc.wait(10)
            self._err_reader.join(5)
            raise RuntimeError(f"vxtrace did not start: {' '.join(self.cmd)}\n{self.stderr}")
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.kill()
        self._reader.join(5)
        self._err_reader.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def _read(self) -> None:
        for line in self.proc.stdout:
            obj = json.loads(line)
            self.lines.append(obj)
            if obj["type"] == "start":
                self.start = obj
                self._started.set()
        self._started.set()

    def _read_stderr(self) -> None:
        self.stderr = self.proc.stderr.read()

    def kill(self, sig=signal.SIGKILL) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(10)

    def stop(self, settle: float = 0.5) -> tuple[list[dict], dict]:
        """SIGINT after `settle` seconds (late drops, e.g. socket reads); the drops and the summary."""
        time.sleep(settle)
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(20)
        self._reader.join(5)
        self._err_reader.join(5)
        if self.proc.returncode != 0:
            raise RuntimeError(f"vxtrace exited {self.proc.returncode}: {self.stderr}")
        summaries = [l for l in self.lines if l["type"] == "summary" and l.get("final")]
        if len(summaries) != 1:
            raise RuntimeError(f"expected one final summary, got {len(summaries)}: {self.stderr}")
        return [l for l in self.lines if l["type"] == "drop"], summaries[0]


def run_vxtrace(ns: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """One-shot run (errors, --duration), capturing both streams."""
    return subprocess.run(["ip", "netns", "exec", ns, VXTRACE, *args], capture_output=True, text=True,
                          timeout=timeout)


def peer(summary: dict, addr: str) -> dict:
    for p in summary["peers"]:
        if p["peer"] == addr:
            return p
    return {"peer": addr, "rx_packets": 0, "drops": 0, "drop_ratio": 0.0, "by_cause": {}, "decapsulated": 0}


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
