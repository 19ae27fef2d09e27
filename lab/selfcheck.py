#!/usr/bin/python3
"""Self-check of the lab: build one lab, run every scenario, demand exact kernel counter deltas.

    /usr/bin/python3 lab/selfcheck.py            # counters only (~20 s)
    /usr/bin/python3 lab/selfcheck.py --trace    # also compare reason/location/path with tracefs

Why one lab for all scenarios: it also proves that each scenario undoes its
changes (rules, sysctls, conntrack entries, servers) - `healthy` runs last and
must see no drops. Exit status 0 only if every check passed and no namespace
of the lab is left behind.

--trace records skb:kfree_skb in a private tracefs instance around each
scenario (see dropwatch.py) and checks that exactly `count` drops carry the
expected reason and location, that their skb was received on the expected
devices, and that no other drop with a reason happened.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import time

import vxlab

# Scenario runs: (label, scenario name, keyword arguments). The /short variants
# exercise the other kernel location of inner checksum drops (CHECKSUM_BREAK).
RUNS = [
    ("outer_csum", "outer_csum", {}),
    ("inner_csum_tcp", "inner_csum_tcp", {}),
    ("inner_csum_tcp/short", "inner_csum_tcp", {"payload_len": 40, "count": 20}),
    ("inner_csum_udp", "inner_csum_udp", {}),
    ("inner_csum_udp/short", "inner_csum_udp", {"payload_len": 40, "count": 20}),
    ("rp_filter", "rp_filter", {}),
    ("ct_invalid", "ct_invalid", {}),
    ("nf_drop", "nf_drop", {}),
    ("unknown_vni", "unknown_vni", {}),
    ("healthy", "healthy", {}),
]
# Frees with a reason that the lab's own tools cause (netlink sockets of iptables/conntrack/ip
# closing with unread messages): not packet drops, ignored by the --trace comparison.
BENIGN_REASONS = {"QUEUE_PURGE"}


def trace_verdict(res: dict, drops: list[dict]) -> list[str]:
    """Problems found comparing traced drops with the scenario's expectation (empty = fine)."""
    problems = []
    interesting = [d for d in drops if d["reason"] not in BENIGN_REASONS | {"NOT_SPECIFIED"}]
    exp = res["expect"]
    hits = [d for d in interesting
            if exp and d["reason"] == exp["reason"] and d["location"] == exp["location"]]
    if exp and len(hits) != exp["count"]:
        problems.append(f"{len(hits)} drops {exp['reason']}@{exp['location']}, expected {exp['count']}")
    others = collections.Counter((d["reason"], d["location"]) for d in interesting if d not in hits)
    problems += [f"{n} unexpected drop(s) {r} at {loc}" for (r, loc), n in others.items()]
    if not exp:
        return problems
    bad_path = [d["path"] for d in hits if d["path"][-len(exp["received_on"]):] != exp["received_on"]]
    if bad_path:
        problems.append(f"skb path {bad_path[0]} does not end with {exp['received_on']}")
    want_softirq = exp["context"] == "softirq"
    if any(d["softirq"] != want_softirq for d in hits):
        problems.append(f"context is not {exp['context']}")
    if any(d["rx_sk"] != (exp["rx_sk_netns"] is not None) for d in hits):
        problems.append("rx_sk presence differs from expectation")
    return problems


def run_one(lab: vxlab.Lab, label: str, name: str, kw: dict, trace: bool) -> tuple[bool, dict]:
    """Run a scenario (optionally under tracefs) and report whether all its checks passed."""
    if trace:
        import dropwatch
        with dropwatch.TraceInstance(with_path=True, keep_unspecified=False) as tr:
            res = lab.run_scenario(name, **kw)
            drops, _ = dropwatch.parse(tr.read())
        res["trace_problems"] = trace_verdict(res, drops)
    else:
        res = lab.run_scenario(name, **kw)
    ok = res["ok"] and not res.get("trace_problems")
    if res["expect"] is not None and label in vxlab.KERNEL_FACTS:
        ok = ok and vxlab.KERNEL_FACTS[label].location == res["expect"]["location"]
    return ok, res


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prefix", help="namespace prefix (default: random vxt<hex>)")
    ap.add_argument("--trace", action="store_true", help="also verify reason/location/path via tracefs")
    ap.add_argument("--json", action="store_true", help="print every scenario result as JSON")
    ap.add_argument("--only", action="append", help="run only these labels (repeatable)")
    a = ap.parse_args(argv)
    start = time.monotonic()
    failures = 0
    lab = vxlab.Lab(a.prefix)
    try:
        with lab:
            print(f"lab {lab.prefix} up in {time.monotonic() - start:.1f}s")
            for label, name, kw in RUNS:
                if a.only and label not in a.only:
                    continue
                t0 = time.monotonic()
                ok, res = run_one(lab, label, name, kw, a.trace)
                failures += not ok
                exp = res["expect"]
                what = f"{exp['count']} x {exp['reason']} @ {exp['location']} in {exp['netns']}" if exp else "no drops"
                print(f"{'PASS' if ok else 'FAIL'} {label:22} {what:60} {time.monotonic() - t0:5.1f}s")
                for c in res["checks"]:
                    if not c["ok"]:
                        print(f"     counter {c['counter']}: expected {c['expected']}, observed {c['observed']}")
                for p in res.get("trace_problems", []):
                    print(f"     trace: {p}")
                if a.json:
                    print(json.dumps(res, indent=2))
    except vxlab.LabError as e:
        print(f"FAIL lab error: {e}")
        failures += 1
    leftover = [n for n in vxlab.list_netns() if n in lab.namespaces]
    if leftover:
        print(f"FAIL namespaces left behind: {leftover}")
        failures += 1
    print(f"{'OK' if not failures else f'{failures} FAILURE(S)'} in {time.monotonic() - start:.1f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
