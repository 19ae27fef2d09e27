"""deploy/ checked against the binary: manifests parse; image, args, ports, probes and
scrape settings agree with `vxtrace agent` (run for real with the manifest's args in a
throwaway namespace); alerts pass promtool's unit tests; every metric the rules and the
dashboard use is one the agent exports; the JSON Schema and log configs are well-formed."""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import tempfile
import unittest
from pathlib import Path

import jsonschema
import yaml

from agent_run import ROOT, VXTRACE, Agent, http_get

DEPLOY = ROOT / "deploy"
PCAP_DIR = "/var/log/vxtrace"


def load_all(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / name).read_text()) if d]


def by_kind() -> dict[str, dict]:
    docs = {}
    for f in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for d in load_all(f.name):
            if d["kind"] != "Kustomization":
                docs[d["kind"]] = d
    return docs


def agent_help() -> str:
    return subprocess.run([VXTRACE, "agent", "--help"], capture_output=True, text=True, check=True).stdout


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=cwd, timeout=60)


class ThrowawayNode:
    """A network namespace with a veth 'eth0' and a default route: enough for the agent."""

    def __init__(self):
        self.ns = f"vxtdeploy{secrets.token_hex(2)}"

    def __enter__(self):
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        try:
            for cmd in (["link", "set", "lo", "up"], ["link", "add", "eth0", "type", "veth", "peer", "name", "peer0"],
                        ["addr", "add", "198.51.100.190/26", "dev", "eth0"], ["link", "set", "eth0", "up"],
                        ["link", "set", "peer0", "up"], ["route", "add", "default", "via", "198.51.100.189"]):
                subprocess.run(["ip", "-n", self.ns, *cmd], check=True, capture_output=True)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)


def manifest_args(container: dict, node: str) -> list[str]:
    return [a.replace("$(NODE_NAME)", node) for a in container["args"]]


def commented_pcap_args() -> list[str]:
    """The args the DaemonSet shows, commented out, to turn the capture on."""
    text = (DEPLOY / "kubernetes" / "daemonset.yaml").read_text()
    return re.findall(r"^\s*#\s*-\s*(--pcap\S*)\s*$", text, re.M)


class Manifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = by_kind()
        cls.ds = cls.docs["DaemonSet"]
        cls.pod = cls.ds["spec"]["template"]
        cls.container = cls.pod["spec"]["containers"][0]

    def test_every_manifest_parses_and_is_expected(self):
        self.assertEqual(set(self.docs), {"Namespace", "DaemonSet", "Service", "ServiceMonitor", "PrometheusRule"})
        kust = yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text())
        self.assertEqual(sorted(kust["resources"]), sorted(p.name for p in (DEPLOY / "kubernetes").glob("*.yaml")
                                                           if p.name != "kustomization.yaml"))

    def test_args_are_flags_of_the_binary(self):
        args = self.container["args"]
        self.assertEqual(args[0], "agent")
        help_text = agent_help()
        for a in args[1:]:
            flag = a.split("=", 1)[0]
            self.assertTrue(flag.startswith("--"), a)
            self.assertRegex(help_text, rf"(^|[ ,]){re.escape(flag)}\b", f"{flag} is not a flag of vxtrace agent")

    def test_ports_probes_and_scrape_settings_agree(self):
        listen = [a.split("=", 1)[1] for a in self.container["args"] if a.startswith("--listen=")][0]
        port = int(listen.rsplit(":", 1)[1])
        ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        self.assertEqual(ports, {"metrics": port})
        self.assertEqual(self.container["livenessProbe"]["httpGet"], {"path": "/healthz", "port": "metrics"})
        self.assertEqual(self.container["readinessProbe"]["httpGet"], {"path": "/readyz", "port": "metrics"})
        ann = self.pod["metadata"]["annotations"]
        self.assertEqual((ann["prometheus.io/scrape"], int(ann["prometheus.io/port"]), ann["prometheus.io/path"]),
                         ("true", port, "/metrics"))
        svc, sm = self.docs["Service"], self.docs["ServiceMonitor"]
        self.assertEqual(svc["spec"]["ports"][0]["targetPort"], "metrics")
        self.assertEqual(sm["spec"]["endpoints"][0]["port"], svc["spec"]["ports"][0]["name"])
        labels = self.pod["metadata"]["labels"]
        for sel in (svc["spec"]["selector"], self.ds["spec"]["selector"]["matchLabels"],
                    sm["spec"]["selector"]["matchLabels"]):
            self.assertTrue(sel.items() <= labels.items() | svc["metadata"]["labels"].items(), sel)

    def test_least_privilege_and_node_coverage(self):
        spec, sc = self.pod["spec"], self.container["securityContext"]
        self.assertTrue(spec["hostNetwork"])
        self.assertFalse(spec.get("hostPID", False))
        self.assertFalse(sc["privileged"])
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertEqual(set(sc["capabilities"]["add"]), {"BPF", "PERFMON", "NET_ADMIN", "SYSLOG"})
        self.assertIn({"operator": "Exists"}, spec["tolerations"])
        self.assertEqual({m["mountPath"] for m in self.container["volumeMounts"]}, {"/sys/kernel/btf", PCAP_DIR})
        res = self.container["resources"]
        self.assertTrue(res["requests"]["cpu"] and res["requests"]["memory"] and res["limits"]["memory"])
        self.assertNotIn("serviceAccountName", spec, "no RBAC: the agent never talks to the API server")

    def test_pcap_volume_is_there_and_capture_is_off_by_default(self):
        args = self.container["args"]
        self.assertFalse([a for a in args if a.split("=", 1)[0] in ("--pcap", "--pcap-max-mib", "--pcap-files")],
                         "no capture unless asked for")
        mounts = {m["name"]: m for m in self.container["volumeMounts"]}
        volumes = {v["name"]: v for v in self.pod["spec"]["volumes"]}
        self.assertEqual(mounts["pcap"]["mountPath"], PCAP_DIR)
        self.assertFalse(mounts["pcap"].get("readOnly", False))
        self.assertEqual(volumes["pcap"]["hostPath"], {"path": PCAP_DIR, "type": "DirectoryOrCreate"})
        on = commented_pcap_args()
        self.assertEqual([a.split("=", 1)[0] for a in on], ["--pcap", "--pcap-max-mib", "--pcap-files"])
        self.assertTrue(on[0].split("=", 1)[1].startswith(PCAP_DIR + "/"), "the file goes to the volume")
        help_text = agent_help()
        for a in on:
            self.assertRegex(help_text, rf"(^|[ ,]){re.escape(a.split('=', 1)[0])}\b")

    def test_image_matches_the_dockerfile(self):
        dockerfile = (DEPLOY / "Dockerfile").read_text()
        self.assertIn("FROM debian:bookworm-slim", dockerfile)
        self.assertIn('ENTRYPOINT ["/usr/local/bin/vxtrace"]', dockerfile)
        self.assertEqual(self.container["image"], "localhost/vxtrace:0.1.0")
        version = subprocess.run([VXTRACE, "--version"], capture_output=True, text=True).stdout.strip()
        self.assertTrue(self.container["image"].endswith(":" + version), version)
        runtime = (DEPLOY / "image" / "runtime-packages.txt").read_text().split()
        for pkg in runtime:
            self.assertIn(pkg, dockerfile)

    def test_the_manifests_args_run_and_probes_answer(self):
        with ThrowawayNode() as node:
            args = manifest_args(self.container, "node-x")[1:]
            with Agent(node.ns, *args, listen=False) as ag:
                self.assertEqual(http_get(node.ns, self.container["livenessProbe"]["httpGet"]["path"])[0], 200)
                self.assertEqual(http_get(node.ns, self.container["readinessProbe"]["httpGet"]["path"])[0], 200)
                start = ag.of_type("start")[0]
                self.assertEqual(start["node"], "node-x")
                self.assertEqual(start["attached"][0]["ifname"], "eth0", "the default-route device")
                code, _ = ag.stop()
            self.assertEqual(code, 0, ag.stderr)

    def test_the_commented_pcap_args_turn_the_capture_on(self):
        with ThrowawayNode() as node, tempfile.TemporaryDirectory() as d:
            on = [a.replace(PCAP_DIR, d) for a in commented_pcap_args()]
            args = manifest_args(self.container, "node-x")[1:] + on
            with Agent(node.ns, *args, listen=False) as ag:
                self.assertEqual(http_get(node.ns, "/healthz")[0], 200)
                self.assertIn("vxtrace_pcap_packets_written_total", ag.metrics_text())
                code, _ = ag.stop()
            self.assertEqual(code, 0, ag.stderr)
            self.assertEqual(os.listdir(d), ["drops.pcapng"])
            self.assertEqual(ag.of_type("summary")[-1]["pcap"]["path"], f"{d}/drops.pcapng")


class RulesAndDashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with ThrowawayNode() as node, Agent(node.ns, "-i", "eth0") as ag:
            cls.exposition = ag.metrics_text()
            ag.stop()
        cls.exported = set(re.findall(r"^# TYPE (\S+) ", cls.exposition, re.M))
        cls.rules = yaml.safe_load((DEPLOY / "prometheus" / "vxtrace-rules.yaml").read_text())
        cls.recorded = {r["record"] for g in cls.rules["groups"] for r in g["rules"] if "record" in r}

    def metric_names(self, expr: str) -> set[str]:
        return set(re.findall(r"\b((?:vxtrace|process)_[a-z_]+)\b", expr))

    def test_rules_pass_promtool_and_fire_naming_the_bad_node(self):
        check = promtool("check", "rules", "vxtrace-rules.yaml", cwd=DEPLOY / "prometheus")
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        test = promtool("test", "rules", "vxtrace-rules.test.yaml", cwd=DEPLOY / "prometheus")
        self.assertEqual(test.returncode, 0, test.stdout + test.stderr)

    def test_prometheusrule_carries_the_same_rules(self):
        self.assertEqual(by_kind()["PrometheusRule"]["spec"], self.rules)

    def test_rules_use_only_exported_metrics(self):
        for g in self.rules["groups"]:
            for r in g["rules"]:
                used = self.metric_names(r["expr"])
                self.assertEqual(used - self.exported, set(), r.get("alert") or r.get("record"))
        for name in ("vxtrace:peer_checksum_drop_ratio:rate5m", "vxtrace:peer_node:info"):
            self.assertIn(name, self.recorded)

    def test_dashboard_queries_parse_and_use_exported_metrics(self):
        dash = json.loads((DEPLOY / "grafana" / "vxtrace-dashboard.json").read_text())
        exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
        self.assertGreaterEqual(len(exprs), 8)
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:expr{i}", "expr": e.replace("$__rate_interval", "5m").replace("$instance", ".*")}
            for i, e in enumerate(exprs)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            yaml.safe_dump(rules, f)
            f.flush()
            check = promtool("check", "rules", f.name)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        for e in exprs:
            self.assertEqual(self.metric_names(e) - self.exported, set(), e)


class Pipelines(unittest.TestCase):
    def test_schema_is_valid_json_schema(self):
        schema = json.loads((DEPLOY / "schema" / "vxtrace-events.schema.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)

    def test_vector_config_parses_and_routes_every_type(self):
        cfg = yaml.safe_load((DEPLOY / "logging" / "vector.yaml").read_text())
        routes = " ".join(cfg["transforms"]["vxtrace_route"]["route"].values())
        for kind in ("drop", "repeat", "suppressed", "summary", "start", "attach"):
            self.assertIn(f'"{kind}"', routes)
        self.assertEqual(set(cfg["sinks"]["vxtrace_out"]["inputs"]),
                         {f"vxtrace_route.{r}" for r in cfg["transforms"]["vxtrace_route"]["route"]})

    def test_fluent_bit_config_references_its_parser(self):
        conf = (DEPLOY / "logging" / "fluent-bit.conf").read_text()
        parsers = (DEPLOY / "logging" / "parsers.conf").read_text()
        for name in set(re.findall(r"^\s*Parser\s+(\S+)", conf, re.M)):
            self.assertIn(f"Name        {name}", parsers)
        self.assertIn("drop|repeat|suppressed|attach|start|summary", conf)


if __name__ == "__main__":
    unittest.main()
