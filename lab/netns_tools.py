"""The lab's plumbing: commands in namespaces, sysctls, namespace teardown, and the
kernel's own counters that scenarios measure with."""
from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from typing import Iterable

NS_SUFFIX_RE = re.compile(r"-(sw|[a-z]|[a-z]1)$")  # the namespaces a lab makes


class LabError(RuntimeError):
    """A lab command failed; the message carries the command and its stderr."""


# --------------------------------------------------------------------------- shell helpers

def run(cmd: list[str], *, input: str | None = None, check: bool = True,
        timeout: float = 30) -> subprocess.CompletedProcess:
    """Run cmd with captured text output.

    Why not plain check=True: CalledProcessError hides stderr, and stderr
    ("RTNETLINK answers: File exists") is the only useful part.
    """
    try:
        proc = subprocess.run(cmd, input=input, text=True, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"timeout after {timeout}s: {shlex.join(cmd)}") from e
    if check and proc.returncode != 0:
        raise LabError(f"command failed ({proc.returncode}): {shlex.join(cmd)}\n{proc.stderr.strip()}")
    return proc


def ns_exec(ns: str, cmd: str | list[str], **kw) -> subprocess.CompletedProcess:
    """Run cmd (argv list, or a string split like a shell would) inside netns `ns`."""
    argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    return run(["ip", "netns", "exec", ns, *argv], **kw)


def ip_batch(ns: str, lines: Iterable[str]) -> None:
    """Many `ip` commands in one process: building the lab stays well under a second."""
    text = "\n".join(lines) + "\n"
    run(["ip", "-n", ns, "-batch", "-"], input=text)


def sysctl(ns: str, settings: dict[str, object]) -> None:
    """Write sysctls in ns. Keys use '/' separators so device names may contain dots."""
    if settings:
        ns_exec(ns, ["sysctl", "-qw", *[f"{k}={v}" for k, v in settings.items()]])


def read_sysctl(ns: str, key: str) -> str:
    """Current value, so a scenario can restore exactly what it changed."""
    return ns_exec(ns, ["sysctl", "-n", key]).stdout.strip()


def list_netns() -> list[str]:
    """Names from `ip netns list` (lines look like 'name (id: 3)')."""
    out = run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_pids(ns: str) -> list[int]:
    """Processes inside ns: they must die before the namespace can really go away."""
    return [int(p) for p in run(["ip", "netns", "pids", ns], check=False).stdout.split()]


def kill_pids(pids: Iterable[int], grace: float = 1.0) -> None:
    """SIGTERM then SIGKILL, by pid. A process left in a deleted netns would keep it alive."""
    pids = list(pids)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def delete_netns(names: Iterable[str]) -> list[str]:
    """Kill what runs inside, then delete each namespace. Returns the names deleted."""
    names = list(names)
    for ns in names:
        kill_pids(netns_pids(ns))
    for ns in names:
        run(["ip", "netns", "del", ns], check=False)
    return names


def down_prefix(prefix: str) -> list[str]:
    """Remove every lab namespace whose name starts with prefix (CLI `down`)."""
    if len(prefix) < 3:
        raise LabError("refusing a prefix shorter than 3 characters")
    ours = [n for n in list_netns() if n.startswith(prefix) and NS_SUFFIX_RE.search(n)]
    return delete_netns(ours)


# --------------------------------------------------------------------------- kernel counters

def netns_counters(ns: str) -> dict[str, int]:
    """SNMP + netstat counters of ns, named like nstat does (UdpInCsumErrors, TcpExtIPReversePathFilter).

    Read straight from /proc/net/{snmp,netstat} rather than through nstat,
    whose history file would make values depend on earlier runs.
    """
    out = ns_exec(ns, ["cat", "/proc/net/snmp", "/proc/net/netstat"]).stdout.splitlines()
    counters: dict[str, int] = {}
    for head, vals in zip(out[0::2], out[1::2]):
        group, names = head.split(":", 1)
        _, values = vals.split(":", 1)
        for name, value in zip(names.split(), values.split()):
            counters[group + name] = int(value)
    return counters


def conntrack_stats(ns: str) -> dict[str, int]:
    """/proc/net/stat/nf_conntrack of ns summed over CPUs (hex, one row per CPU)."""
    lines = ns_exec(ns, ["cat", "/proc/net/stat/nf_conntrack"]).stdout.split("\n")
    names = lines[0].split()
    totals = dict.fromkeys(names, 0)
    for row in filter(None, lines[1:]):
        for name, value in zip(names, row.split()):
            totals[name] += int(value, 16)
    totals.pop("entries", None)      # a gauge repeated per CPU, summing it means nothing
    return totals


def iptables_packets(ns: str, comment: str, table: str = "filter") -> int:
    """Packet counter of the rule(s) tagged with `-m comment --comment <comment>`."""
    out = ns_exec(ns, ["iptables-save", "-c", "-t", table]).stdout
    total = 0
    for line in out.splitlines():
        if f'--comment {comment}' in line or f'--comment "{comment}"' in line:
            total += int(line[1:line.index(":")])
    return total


def link_stats(ns: str, dev: str) -> dict[str, int]:
    """rx/tx packet and drop counters of a device (from `ip -s -j link`)."""
    data = json.loads(ns_exec(ns, ["ip", "-s", "-j", "link", "show", "dev", dev]).stdout)[0]
    s = data["stats64"]
    return {"rx_packets": s["rx"]["packets"], "rx_dropped": s["rx"]["dropped"],
            "tx_packets": s["tx"]["packets"], "tx_dropped": s["tx"]["dropped"]}
