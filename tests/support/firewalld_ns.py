"""Debian's real firewalld, confined to one lab namespace.

firewalld runs in the node's network namespace and in a mount namespace of its own, where
/run is a fresh tmpfs and /etc/firewalld and /var/log are bind mounts of a temporary
directory: nothing it writes reaches the host's /run/firewalld, /etc/firewalld or logs. It
talks to a private dbus-daemon (system-bus type, one unix socket in that directory) which
DBUS_SYSTEM_BUS_ADDRESS points it and firewall-cmd at; the host's bus is never used. There is
no polkitd on that bus, so firewalld lets root's firewall-cmd do everything.

    with Firewalld(ns) as fw:
        fw.cmd("--add-port=4789/udp")
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""

# Debian's /etc/firewalld/firewalld.conf as the package ships it (not the host's copy, which
# an admin may have changed); zones and services come from the package's /usr/lib/firewalld.
FIREWALLD_CONF = """DefaultZone=public
CleanupOnExit=yes
CleanupModulesOnExit=no
Lockdown=no
IPv6_rpfilter=yes
IndividualCalls=no
LogDenied=off
FirewallBackend=nftables
FlushAllOnReload=yes
RFC3964_IPv4=yes
"""


class Firewalld:
    def __init__(self, ns: str, start_timeout: float = 30.0):
        self.ns = ns
        self.start_timeout = start_timeout
        self.dbus: subprocess.Popen | None = None
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Firewalld":
        self.dir = Path(tempfile.mkdtemp(prefix=f"vxfw-{self.ns}-"))
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        etc, log = self.dir / "etc", self.dir / "log"
        for d in ("zones", "services", "policies", "icmptypes", "ipsets", "helpers"):
            (etc / d).mkdir(parents=True)
        (etc / "firewalld.conf").write_text(FIREWALLD_CONF)
        log.mkdir()
        sock = self.dir / "bus"
        (self.dir / "bus.conf").write_text(BUS_CONF.format(sock=sock))
        self.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={sock}")
        with open(self.dir / "dbus.err", "w") as err:
            self.dbus = subprocess.Popen(["dbus-daemon", f"--config-file={self.dir / 'bus.conf'}", "--nofork",
                                          "--nopidfile"], stdout=subprocess.DEVNULL, stderr=err)
        self._wait(lambda: sock.exists(), "dbus-daemon's socket")
        mounts = (f"mount -t tmpfs vxfw-run /run && mount --bind {etc} /etc/firewalld && "
                  f"mount --bind {log} /var/log && exec firewalld --nofork --nopid")
        with open(self.dir / "firewalld.out", "w") as out:
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, "unshare", "--mount", "--propagation",
                                          "private", "sh", "-c", mounts], env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        self._wait(lambda: self.cmd("--state", check=False).stdout.strip() == "running", "firewalld")

    def _wait(self, pred, what: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not pred():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"firewalld exited {self.proc.returncode}: {self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start: {self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        parts = []
        for name in ("firewalld.out", "log/firewalld", "dbus.err"):
            p = self.dir / name
            if p.exists():
                parts.append(f"--- {name}\n{p.read_text()[-4000:]}")
        return "\n".join(parts)

    def cmd(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        """firewall-cmd on the private bus (it is a D-Bus client only: no namespace needed)."""
        r = subprocess.run(["firewall-cmd", *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"firewall-cmd {' '.join(args)}: {r.returncode} {r.stdout} {r.stderr}\n{self.log()}")
        return r

    def __exit__(self, *exc) -> None:
        for p in (self.proc, self.dbus):
            if p is None or p.poll() is not None:
                continue
            p.terminate()   # firewalld: CleanupOnExit=yes deletes its table
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if self.proc is not None:
            # Killed before its cleanup: its table must not outlive the test.
            subprocess.run(["ip", "netns", "exec", self.ns, "nft", "delete", "table", "inet", "firewalld"],
                           capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
