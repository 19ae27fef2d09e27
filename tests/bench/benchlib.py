"""Pure helpers of the benchmark suite: statistics, parsers, the figures table.

No root, no lab, no subprocess: everything here is checked by selfcheck.py in well under a
second. run.py does the measuring and hands raw samples to these functions.
"""
from __future__ import annotations

import json
import math
import statistics
from collections import deque
from dataclasses import dataclass, field

CLK_TCK = 100  # /proc/PID/stat utime/stime unit; os.sysconf("SC_CLK_TCK") in run.py


# --------------------------------------------------------------------------- statistics

@dataclass
class Stat:
    """Median and spread of repeated samples (spread = min..max; n = samples)."""
    samples: list[float] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def lo(self) -> float | None:
        return min(self.samples) if self.samples else None

    @property
    def hi(self) -> float | None:
        return max(self.samples) if self.samples else None

    def spread_pct(self) -> float | None:
        """(max - min) / median, in percent: how noisy the samples were."""
        m = self.median
        if not self.samples or not m:
            return None
        return 100.0 * (self.hi - self.lo) / abs(m)

    def as_dict(self) -> dict:
        return {"median": self.median, "min": self.lo, "max": self.hi, "n": self.n, "samples": self.samples}


def paired_ratios(with_: list[float], without: list[float]) -> list[float]:
    """Ratio of each 'with' sample to the 'without' sample measured next to it (same pair)."""
    if len(with_) != len(without):
        raise ValueError("paired samples must have the same length")
    return [w / o for w, o in zip(with_, without) if o]


def overhead_pct(ratios: list[float]) -> Stat:
    """Throughput lost by attaching, per pair, in percent (positive = slower with vxtrace)."""
    return Stat([100.0 * (1.0 - r) for r in ratios])


# Two-sided 95 % Student t quantiles by degrees of freedom (beyond 30: the normal's 1.96).
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
        18: 2.101, 19: 2.093, 20: 2.086, 25: 2.060, 30: 2.042}


def mean_ci95(xs: list[float]) -> tuple[float, float, float] | None:
    """Mean and its 95 % confidence interval (t), for paired differences: (mean, lo, hi)."""
    n = len(xs)
    if n < 2:
        return None
    mean = sum(xs) / n
    sd = statistics.stdev(xs)
    df = n - 1
    t = _T95.get(df) or (_T95[max(k for k in _T95 if k <= df)] if df < 30 else 1.96)
    half = t * sd / n ** 0.5
    return mean, mean - half, mean + half


def pairs_for_half_width(xs: list[float], half: float) -> int | None:
    """Pairs a 95 % interval of the mean needs to be +-`half` wide at the spread of `xs`
    (normal approximation: (1.96 sd / half)^2, at least the pairs already run)."""
    if len(xs) < 2:
        return None
    return max(len(xs), math.ceil((1.96 * statistics.stdev(xs) / half) ** 2))


def ci_verdict(ci: tuple[float, float, float] | None, goal: float) -> str:
    """A goal 'at most `goal`' judged on an interval: met only when all of it is below."""
    if ci is None:
        return "n/a"
    _, lo, hi = ci
    if hi <= goal:
        return "met"
    if lo > goal:
        return f"MISSED (all of the interval > {goal:g})"
    return "undecided (interval spans the goal)"


def cpu_busy_ns(stat_text: str) -> int:
    """Time all CPUs spent not idle, from /proc/stat's first line (USER_HZ = 100)."""
    f = [int(x) for x in stat_text.splitlines()[0].split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)  # idle + iowait
    return (sum(f[:8]) - idle) * 10_000_000


def abba_order(pairs: int) -> list[tuple[str, str]]:
    """Run order for interleaved pairs: (without, with), (with, without), ... so a drift of the
    machine during the run biases neither side."""
    return [("without", "with") if i % 2 == 0 else ("with", "without") for i in range(pairs)]


# --------------------------------------------------------------------------- BPF run statistics

def prog_stats(bpftool_json: str | dict) -> dict:
    """run_time_ns and run_cnt from `bpftool -j prog show id N` (0 when stats were off)."""
    d = json.loads(bpftool_json) if isinstance(bpftool_json, str) else bpftool_json
    return {"run_time_ns": int(d.get("run_time_ns", 0)), "run_cnt": int(d.get("run_cnt", 0)),
            "name": d.get("name", ""), "type": d.get("type", ""), "id": d.get("id")}


def ns_per_run(before: dict, after: dict) -> tuple[float | None, int]:
    """Mean ns per invocation between two prog_stats() readings, and the invocations."""
    cnt = after["run_cnt"] - before["run_cnt"]
    t = after["run_time_ns"] - before["run_time_ns"]
    if cnt <= 0:
        return None, 0
    return t / cnt, cnt


def start_line_prog_ids(start: dict) -> dict[str, int]:
    """role -> prog_id from vxtrace's JSON start line ("underlay", "overlay", "drops")."""
    return {a["role"]: int(a["prog_id"]) for a in start.get("attached", []) if a.get("prog_id")}


# --------------------------------------------------------------------------- /proc

def proc_cpu_ticks(stat_text: str) -> int:
    """utime + stime (clock ticks) from /proc/PID/stat; the comm field may contain spaces."""
    rest = stat_text[stat_text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); utime is field 14, stime field 15.
    return int(rest[11]) + int(rest[12])


def proc_status_kib(status_text: str) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile ... in KiB from /proc/PID/status."""
    out = {}
    for line in status_text.splitlines():
        k, _, v = line.partition(":")
        v = v.strip()
        if v.endswith(" kB"):
            out[k] = int(v[:-3])
    return out


def snmp_counters(text: str) -> dict[str, int]:
    """/proc/net/snmp + /proc/net/netstat as nstat names them (UdpInCsumErrors, TcpExtIPReversePathFilter)."""
    lines = text.splitlines()
    out: dict[str, int] = {}
    for head, vals in zip(lines[0::2], lines[1::2]):
        group, names = head.split(":", 1)
        g2, values = vals.split(":", 1)
        if group != g2:
            raise ValueError(f"unpaired snmp lines: {group} / {g2}")
        for n, v in zip(names.split(), values.split()):
            out[group + n] = int(v)
    return out


# --------------------------------------------------------------------------- vxtrace output

@dataclass
class StreamCount:
    """What a vxtrace JSON-lines file holds, counted without parsing every line."""
    bytes: int = 0
    lines: int = 0
    drops: int = 0
    drops_by_peer: dict[str, int] = field(default_factory=dict)
    start: dict | None = None
    summary: dict | None = None


def count_stream(chunks, peers: list[str]) -> StreamCount:
    """Counts lines, drop lines and drop lines naming each peer in an iterable of byte chunks
    of vxtrace -o json output; parses only the start line and the final summary."""
    sc = StreamCount(drops_by_peer={p: 0 for p in peers})
    needles = {p: f'"tunnel":{{"peer":"{p}"'.encode() for p in peers}
    carry = b""
    first = None
    tail: deque[bytes] = deque()  # the last >= 1 MiB seen: the final summary is the last line
    tail_len = 0
    for chunk in chunks:
        sc.bytes += len(chunk)
        tail.append(chunk)
        tail_len += len(chunk)
        while tail_len - len(tail[0]) >= 1 << 20:
            tail_len -= len(tail.popleft())
        buf = carry + chunk
        cut = buf.rfind(b"\n")
        if cut < 0:
            carry = buf
            continue
        body, carry = buf[:cut + 1], buf[cut + 1:]
        if first is None:
            first = body[:body.index(b"\n")]
        sc.lines += body.count(b"\n")
        sc.drops += body.count(b'{"type":"drop"')
        for p, n in needles.items():
            sc.drops_by_peer[p] += body.count(n)
    if carry:
        sc.lines += 1
    if first:
        sc.start = json.loads(first)
    for line in reversed(b"".join(tail).split(b"\n")):
        if line.startswith(b'{"type":"summary"') and b'"final":true' in line:
            sc.summary = json.loads(line)
            break
    return sc


def peer_entry(summary: dict, peer: str) -> dict:
    for p in summary.get("peers", []):
        if p["peer"] == peer:
            return p
    return {"peer": peer, "rx_packets": 0, "drops": 0, "by_cause": {}, "decapsulated": 0}


STREAMED_BY_DEFAULT = ("other", "checksum", "rp_filter", "conntrack", "netfilter", "vxlan")


def streamed_total(summary: dict, causes=STREAMED_BY_DEFAULT) -> int:
    return sum(summary.get("drops", {}).get(c, 0) for c in causes)


# --------------------------------------------------------------------------- iperf3

def iperf_result(doc: dict) -> dict:
    """Receiver-side figures from `iperf3 -J` (client side): TCP bits/s, UDP packets/s."""
    end = doc["end"]
    if "sum_received" in end and "sum" not in end:  # TCP
        r = end["sum_received"]
        return {"proto": "tcp", "bits_per_second": r["bits_per_second"], "seconds": r["seconds"]}
    s = end["sum"]
    received = s["packets"] - s["lost_packets"]
    secs = s["seconds"] or 1.0
    return {"proto": "udp", "pps": received / secs, "sent_pps": s["packets"] / secs,
            "lost_percent": s["lost_percent"], "bits_per_second": end.get("sum_received", s)["bits_per_second"]}


# --------------------------------------------------------------------------- formatting

def fmt_num(v, unit: str = "", digits: int = 0) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return "n/a"
    if abs(v) >= 1e9 and unit in ("bit/s",):
        return f"{v / 1e9:.2f} Gbit/s"
    if abs(v) >= 1e6 and unit in ("/s", "pps"):
        return f"{v / 1e6:.2f} M{unit}"
    if abs(v) >= 1e3 and unit in ("/s", "pps"):
        return f"{v / 1e3:.0f} k{unit}"
    return f"{v:,.{digits}f}{(' ' + unit) if unit else ''}"


def fmt_stat(st: Stat, unit: str = "", digits: int = 0) -> str:
    """'median (min..max, n=N)'."""
    if not st.samples:
        return "n/a"
    if st.n == 1:
        return fmt_num(st.median, unit, digits)
    return f"{fmt_num(st.median, unit, digits)} ({fmt_num(st.lo, '', digits)}..{fmt_num(st.hi, '', digits)}, n={st.n})"


def verdict(value: float | None, goal: float, *, higher_is_better: bool = False) -> str:
    """'met' / 'MISSED by X %' against a goal (None: 'n/a')."""
    if value is None:
        return "n/a"
    ok = value >= goal if higher_is_better else value <= goal
    if ok:
        return "met"
    miss = (goal - value) / goal if higher_is_better else (value - goal) / goal
    return f"MISSED by {100 * miss:.0f} %"


@dataclass
class Row:
    section: str
    figure: str
    value: str
    goal: str = ""
    verdict: str = ""


def render_table(rows: list[Row]) -> str:
    """Plain-text table, one section header per group."""
    w_fig = max([len(r.figure) for r in rows] + [6])
    w_val = max([len(r.value) for r in rows] + [5])
    w_goal = max([len(r.goal) for r in rows] + [4])
    out = []
    section = None
    for r in rows:
        if r.section != section:
            section = r.section
            out.append("")
            out.append(f"== {section}")
        out.append(f"  {r.figure:<{w_fig}}  {r.value:<{w_val}}  {r.goal:<{w_goal}}  {r.verdict}".rstrip())
    return "\n".join(out).lstrip("\n")


def render_markdown(rows: list[Row]) -> str:
    out = ["| section | figure | value | goal | verdict |", "|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r.section} | {r.figure} | {r.value} | {r.goal} | {r.verdict} |")
    return "\n".join(out)
