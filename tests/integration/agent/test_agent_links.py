"""The agent follows the node's links: a VXLAN device that appears after start, is deleted
and re-created (what a Calico restart does), pod interfaces coming and going; SIGTERM
detaches everything within a second."""
from __future__ import annotations

import signal
import subprocess
import unittest

from agent_run import POD_NET, UNDERLAY, Agent, create_vxlan, delete_vxlan, http_get, metric, \
    prog_exists, recreate_vxlan, wait_gone
import vxlab


def setUpModule():
    global LAB
    LAB = vxlab.Lab(underlay=UNDERLAY, pod_net=POD_NET).up()


def tearDownModule():
    LAB.down()


def attached(ag: Agent, dev: str, role: str = "overlay") -> float | None:
    return metric(ag.metrics(), "vxtrace_device_attached", device=dev, role=role)


def decapsulated(ag: Agent, peer_ip: str) -> float:
    return metric(ag.metrics(), "vxtrace_peer_decapsulated_packets_total", peer=peer_ip) or 0


class FollowsLinks(unittest.TestCase):
    def setUp(self):
        self.b, self.a = LAB.receiver, LAB.node("a")

    def inject_and_wait_decapsulated(self, ag: Agent, count: int = 50) -> float:
        """Injects count good frames a -> b; returns how many the overlay program counted."""
        before = decapsulated(ag, self.a.underlay_ip)
        LAB.inject("a", "b", count=count, dport=7, payload_len=200)
        got = ag.wait_for(lambda: decapsulated(ag, self.a.underlay_ip) - before >= count, 5)
        return decapsulated(ag, self.a.underlay_ip) - before if got is not None else 0

    def test_vxlan_device_created_after_start_is_attached(self):
        delete_vxlan(LAB, self.b)
        try:
            with Agent(self.b.ns, "-i", "eth0") as ag:
                self.assertEqual([a["ifname"] for a in ag.of_type("start")[0]["attached"]], ["eth0", "*"])
                self.assertEqual(attached(ag, "vxlan.calico"), 0)
                self.assertEqual(http_get(self.b.ns, "/readyz")[0], 200, "ready: the underlay is attached")
                create_vxlan(LAB, self.b)
                self.assertTrue(ag.wait_for(lambda: attached(ag, "vxlan.calico") == 1, 3))
                self.assertEqual(self.inject_and_wait_decapsulated(ag), 50)
                code, _ = ag.stop()
            self.assertEqual(code, 0, ag.stderr)
            events = [(l["ifname"], l["attached"], l["why"]) for l in ag.of_type("attach")]
            self.assertEqual(events[0], ("vxlan.calico", True, "appeared"))
        finally:
            if "vxlan.calico" not in LAB.ns_exec(self.b.ns, ["ip", "-br", "link"]).stdout:
                create_vxlan(LAB, self.b)

    def test_vxlan_device_deleted_and_recreated_is_reattached(self):
        with Agent(self.b.ns, "-i", "eth0") as ag:
            first = ag.of_type("start")[0]["attached"][1]
            self.assertEqual(first["ifname"], "vxlan.calico")
            for round_ in range(2):  # Calico may restart more than once
                delete_vxlan(LAB, self.b)
                self.assertTrue(ag.wait_for(lambda: attached(ag, "vxlan.calico") == 0, 3))
                create_vxlan(LAB, self.b)
                self.assertTrue(ag.wait_for(lambda: attached(ag, "vxlan.calico") == 1, 3))
                self.assertEqual(self.inject_and_wait_decapsulated(ag), 50, f"round {round_}")
            m = ag.metrics()
            self.assertEqual(metric(m, "vxtrace_device_attachments_total", device="vxlan.calico"), 3)
            self.assertEqual(metric(m, "vxtrace_device_attachments_total", device="eth0"), 1)
            self.assertEqual(metric(m, "vxtrace_device_attach_failures_total", device="vxlan.calico"), 0)
            code, _ = ag.stop()
        self.assertEqual(code, 0, ag.stderr)
        events = [(l["ifname"], l["attached"], l["why"]) for l in ag.of_type("attach")]
        self.assertEqual(events[:4], [("vxlan.calico", False, "deleted"), ("vxlan.calico", True, "appeared")] * 2)
        ifindexes = [l["ifindex"] for l in ag.of_type("attach") if l["attached"]]
        self.assertEqual(len(set(ifindexes + [0])), 3, "each re-created device has a new ifindex")

    def test_pod_interfaces_coming_and_going_change_nothing(self):
        with Agent(self.b.ns, "-i", "eth0") as ag:
            names = [f"cali{i:011x}" for i in range(40)]
            for n in names:  # both ends in node b: nothing outside the lab
                LAB.ns_exec(self.b.ns, ["ip", "link", "add", n, "type", "veth", "peer", "name", "x" + n[4:]])
                LAB.ns_exec(self.b.ns, ["ip", "link", "set", n, "up"])
            for n in names:
                LAB.ns_exec(self.b.ns, ["ip", "link", "del", n])
            self.assertEqual(self.inject_and_wait_decapsulated(ag), 50)
            m = ag.metrics()
            for dev in ("eth0", "vxlan.calico"):
                self.assertEqual(metric(m, "vxtrace_device_attachments_total", device=dev), 1)
            self.assertEqual(http_get(self.b.ns, "/healthz")[0], 200)
            code, _ = ag.stop()
        self.assertEqual(code, 0, ag.stderr)
        self.assertEqual(ag.of_type("attach"), [a for a in ag.of_type("attach") if a["why"] == "stopping"])

    def test_sigterm_detaches_within_a_second_and_leaves_nothing(self):
        with Agent(self.b.ns, "-i", "eth0", "--attach-mode", "clsact") as ag:
            ids = [a["prog_id"] for a in ag.of_type("start")[0]["attached"]]
            self.assertEqual(len(ids), 3)
            self.assertTrue(all(prog_exists(i) for i in ids))
            code, took = ag.stop(signal.SIGTERM)
        self.assertEqual(code, 0, ag.stderr)
        self.assertLess(took, 1.0, "SIGTERM to exit")
        self.assertEqual(wait_gone(ids), [], "a program outlived the agent")
        for dev in ("eth0", "vxlan.calico"):
            out = LAB.ns_exec(self.b.ns, ["tc", "filter", "show", "dev", dev, "ingress"]).stdout
            self.assertNotIn("vxt_", out)
        self.assertTrue(ag.of_type("summary")[-1]["final"], "the final summary is the last word")

    def test_sigterm_with_tcx_leaves_nothing(self):
        with Agent(self.b.ns, "-i", "eth0") as ag:
            recreate_vxlan(LAB, self.b)  # also the re-attached program must go
            self.assertTrue(ag.wait_for(lambda: len(ag.of_type("attach")) >= 2, 3))
            ids = [a["prog_id"] for a in ag.of_type("start")[0]["attached"]]
            ids += [a["prog_id"] for a in ag.of_type("attach") if a["attached"]]
            code, took = ag.stop(signal.SIGTERM)
        self.assertEqual(code, 0, ag.stderr)
        self.assertLess(took, 1.0)
        self.assertEqual(wait_gone(ids), [])
        self.assertEqual(subprocess.run(["ip", "netns", "pids", self.b.ns], capture_output=True,
                                        text=True).stdout.strip(), "", "no process left in node b")


if __name__ == "__main__":
    unittest.main()
