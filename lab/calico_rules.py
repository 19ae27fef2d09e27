"""A Calico-style iptables ruleset on a lab node, written with iptables-nft the way Calico
writes it (chain names, `cali:` ids and the comments of its drop rules), and removed on exit.

    raw     PREROUTING -> cali-PREROUTING: drop what vxlan.calico decapsulated from a source
            outside the pod network (Calico's own source check)
    filter  FORWARD -> cali-FORWARD -> cali-to-wl-dispatch -> cali-tw-<pod iface>:
            ESTABLISHED accept, INVALID drop, TCP <allowed> accept, "Drop if no profiles matched"
"""
from __future__ import annotations

import subprocess

RAW_ID, INVALID_ID, ALLOW_ID, PROFILE_ID = "XFX5xbM8B9qR10JG", "xQhKl2yaPJUq1Ex0", "0oUk3M0KuOsp6Ehn", "Ju2pNmrABpXNVMtO"
RAW_COMMENT = "Drop VXLAN-decapsulated packets from unknown sources"
PROFILE_COMMENT = "Drop if no profiles matched"


def _iptables(ns: str, *args: str, check: bool = True) -> None:
    subprocess.run(["ip", "netns", "exec", ns, "iptables-nft", "-w", *args], check=check,
                   capture_output=True, text=True)


class CalicoRules:
    """`with CalicoRules(node, pod_net, allow_tcp=8080) as rules:`; rules.tw_chain names the pod's chain."""

    def __init__(self, node, pod_net: str, allow_tcp: int = 8080):
        self.ns, self.iface, self.vxlan_dev = node.ns, node.cali, node.vxlan_dev
        self.pod_net, self.allow_tcp = pod_net, allow_tcp
        self.tw_chain = f"cali-tw-{self.iface}"

    def restore_input(self) -> str:
        tw = self.tw_chain
        return "\n".join([
            "*raw",
            ":cali-PREROUTING - [0:0]",
            '-A PREROUTING -m comment --comment "cali:6gwbT8clXdHdC1b1" -j cali-PREROUTING',
            f"-A cali-PREROUTING -i {self.vxlan_dev} ! -s {self.pod_net} "
            f'-m comment --comment "cali:{RAW_ID}" -m comment --comment "{RAW_COMMENT}" -j DROP',
            "COMMIT",
            "*filter",
            ":cali-FORWARD - [0:0]",
            ":cali-to-wl-dispatch - [0:0]",
            f":{tw} - [0:0]",
            '-A FORWARD -m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD',
            '-A cali-FORWARD -m comment --comment "cali:jxvuJjmmRV135nVu" -j cali-to-wl-dispatch',
            f'-A cali-to-wl-dispatch -o {self.iface} -m comment --comment "cali:Hy8CYH2mMQiUQRpe" -g {tw}',
            f'-A {tw} -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "cali:lCRoOy1pcuWCjYfM" -j ACCEPT',
            f'-A {tw} -m conntrack --ctstate INVALID -m comment --comment "cali:{INVALID_ID}" -j DROP',
            f'-A {tw} -p tcp --dport {self.allow_tcp} -m comment --comment "cali:{ALLOW_ID}" -j ACCEPT',
            f'-A {tw} -m comment --comment "cali:{PROFILE_ID}" -m comment --comment "{PROFILE_COMMENT}" -j DROP',
            "COMMIT", ""])

    def __enter__(self) -> "CalicoRules":
        subprocess.run(["ip", "netns", "exec", self.ns, "iptables-nft-restore", "-w", "--noflush"],
                       input=self.restore_input(), check=True, capture_output=True, text=True)
        return self

    def __exit__(self, *exc) -> None:
        _iptables(self.ns, "-t", "raw", "-D", "PREROUTING", "-m", "comment", "--comment", "cali:6gwbT8clXdHdC1b1",
                  "-j", "cali-PREROUTING", check=False)
        _iptables(self.ns, "-D", "FORWARD", "-m", "comment", "--comment", "cali:wUHhoiAYhphO9Mso", "-j",
                  "cali-FORWARD", check=False)
        for table, chain in (("raw", "cali-PREROUTING"), ("filter", "cali-FORWARD"),
                             ("filter", "cali-to-wl-dispatch"), ("filter", self.tw_chain)):
            _iptables(self.ns, "-t", table, "-F", chain, check=False)
        for table, chain in (("raw", "cali-PREROUTING"), ("filter", "cali-FORWARD"),
                             ("filter", "cali-to-wl-dispatch"), ("filter", self.tw_chain)):
            _iptables(self.ns, "-t", table, "-X", chain, check=False)
        subprocess.run(["ip", "netns", "exec", self.ns, "conntrack", "-F"], capture_output=True, check=False)
