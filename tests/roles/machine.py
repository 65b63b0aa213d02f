"""Booted Debian containers for the role tests: systemd-nspawn on an overlay, in a netns.

Each machine is ``systemd-nspawn --boot`` on an overlayfs whose lower layers are the cached
rootfs (and optionally a snapshot of an earlier machine), in a network namespace of its own that
this module makes. The only link is a veth pair to the test host: 10.213.N.1 on our side,
10.213.N.2 in the machine; nothing is routed anywhere else. Ansible reaches it over SSH
as root with a key made for the run. All state lives in one directory per machine under the
scratch directory, so the molecule create/destroy playbooks can drive it from the shell:

    python -m tests.roles.machine up NAME --index N --scratch DIR [--lower DIR ...]
    python -m tests.roles.machine down NAME --scratch DIR
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

# The nspawn processes this process started, kept so they are reaped (and not reported as
# still running when their Popen objects are collected).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
SUBNET = "10.213"  # 10.213.N.0/24: our side .1, the machine .2; exists only in our namespaces
SSH_OPTIONS = (
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=5",
    "-o",
    "BatchMode=yes",
)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    kw.setdefault("check", True)
    return subprocess.run(cmd, text=True, **kw)


def ssh_key(scratch: Path) -> Path:
    """The run's SSH key (made once per scratch directory)."""
    key = scratch / "id_ed25519"
    if not key.exists():
        scratch.mkdir(parents=True, exist_ok=True)
        run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "smartcam-tests", "-f", str(key)],
            stdout=subprocess.DEVNULL,
        )
    return key


@dataclass
class Machine:
    name: str
    index: int  # 1..250: picks the subnet and the interface names
    scratch: Path
    lower: list[str] = field(default_factory=list)  # overlay lower dirs, topmost first
    pid: int = 0

    # --- names -------------------------------------------------------------------------------
    @property
    def dir(self) -> Path:
        return self.scratch / "machines" / self.name

    @property
    def netns(self) -> str:
        return f"smartcam-test-{self.index}"

    @property
    def address(self) -> str:
        return f"{SUBNET}.{self.index}.2"

    @property
    def gateway(self) -> str:
        return f"{SUBNET}.{self.index}.1"

    @property
    def root(self) -> Path:
        return self.dir / "merged"

    @property
    def upper(self) -> Path:
        return self.dir / "upper"

    @property
    def key(self) -> Path:
        return ssh_key(self.scratch)

    # --- state -------------------------------------------------------------------------------
    def save(self) -> None:
        state = asdict(self) | {"scratch": str(self.scratch)}
        (self.dir / "state.json").write_text(json.dumps(state))

    @classmethod
    def load(cls, name: str, scratch: Path) -> Machine:
        state = json.loads((scratch / "machines" / name / "state.json").read_text())
        state["scratch"] = Path(state["scratch"])
        return cls(**state)

    # --- life --------------------------------------------------------------------------------
    def up(self, config: str | None = None, timeout: float = 120) -> None:
        """Mount, link and boot; return once sshd answers and systemd finished booting."""
        self.prepare(config)
        self.boot(timeout)

    def prepare(self, config: str | None = None) -> None:
        """Mount the overlay and seed it (key, name, smartcam.conf); boot() starts it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for d in ("upper", "work", "merged"):
            (self.dir / d).mkdir(exist_ok=True)
        if not os.path.ismount(self.root):
            run(
                [
                    "mount",
                    "-t",
                    "overlay",
                    "overlay",
                    "-o",
                    f"lowerdir={':'.join(self.lower)},upperdir={self.upper},"
                    f"workdir={self.dir / 'work'}",
                    str(self.root),
                ]
            )
        self._seed(config)
        self.save()

    def unmount(self) -> None:
        """Unmount the overlay, keeping its upper layer (to be a lower layer of others)."""
        if os.path.ismount(self.root):
            run(["umount", str(self.root)])

    def boot(self, timeout: float = 120) -> None:
        self._link()
        log = open(self.dir / "console.log", "ab")  # noqa: SIM115 (handed to the child)
        proc = subprocess.Popen(
            [
                "systemd-nspawn",
                "--boot",
                "--register=no",
                "--keep-unit",
                "--quiet",
                "--console=pipe",
                f"--machine={self.name}",
                f"--directory={self.root}",
                f"--network-namespace-path=/run/netns/{self.netns}",
                "--capability=all",
                "--link-journal=no",
                # systemd runs automount units only where /dev/autofs exists (the NAS test)
                "--bind=/dev/autofs",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        _CHILDREN[proc.pid] = proc
        self.pid = proc.pid
        self.save()
        self.wait_ready(timeout)

    def _link(self) -> None:
        ns, host, peer = self.netns, f"sct{self.index}h", f"sct{self.index}c"
        if not Path(f"/run/netns/{ns}").exists():
            run(["ip", "netns", "add", ns])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        if run(["ip", "link", "show", host], check=False, capture_output=True).returncode:
            run(["ip", "link", "add", host, "type", "veth", "peer", "name", peer, "netns", ns])
            run(["ip", "addr", "add", f"{self.gateway}/24", "dev", host])
            run(["ip", "link", "set", host, "up"])
            run(["ip", "-n", ns, "link", "set", peer, "name", "eth0"])
            run(["ip", "-n", ns, "addr", "add", f"{self.address}/24", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])

    def _seed(self, config: str | None) -> None:
        """Before boot: our key for root, the machine's name, and its smartcam.conf if given."""
        ssh = self.root / "root" / ".ssh"
        ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
        (ssh / "authorized_keys").write_text(self.key.with_suffix(".pub").read_text())
        (self.root / "etc" / "hostname").write_text(self.name + "\n")
        if config is not None:
            conf = self.root / "boot" / "firmware" / "smartcam.conf"
            conf.parent.mkdir(parents=True, exist_ok=True)
            conf.write_text(config)

    def running(self) -> bool:
        if not self.pid:
            return False
        if self.pid in _CHILDREN:  # ours: poll() reaps it, so a zombie does not count
            return _CHILDREN[self.pid].poll() is None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"{self.name} exited while booting; see {self.console()}")
            try:
                socket.create_connection((self.address, 22), timeout=1).close()
            except OSError:
                time.sleep(0.3)
                continue
            state = self.ssh(
                "systemctl is-system-running --wait",
                check=False,
                timeout=max(1.0, deadline - time.monotonic()),
            )
            if state.returncode in (0, 1) and state.stdout.strip() in ("running", "degraded"):
                return
            time.sleep(0.5)
        raise TimeoutError(
            f"{self.name} did not finish booting in {timeout} s; see {self.console()}"
        )

    def console(self) -> Path:
        return self.dir / "console.log"

    def ssh(
        self, command: str, check: bool = True, timeout: float = 120, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run(
            ["ssh", *SSH_OPTIONS, "-i", str(self.key), f"root@{self.address}", command],
            check=check,
            capture_output=True,
            timeout=timeout,
            input=input,
        )

    def stop(self, timeout: float = 60) -> None:
        """Power the machine off (nspawn turns SIGTERM into a clean shutdown), then unmount."""
        if self.running():
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.running() and time.monotonic() < deadline:
                try:  # reap it if it is our child; otherwise just wait for it to go
                    if os.waitpid(self.pid, os.WNOHANG)[0]:
                        break
                except ChildProcessError:
                    pass
                time.sleep(0.2)
            if self.running():
                os.killpg(self.pid, signal.SIGKILL)
                time.sleep(0.5)
        child = _CHILDREN.pop(self.pid, None)
        if child is not None:
            child.wait(timeout=10)
        self.pid = 0
        if os.path.ismount(self.root):
            run(["umount", str(self.root)], check=False)

    def down(self) -> None:
        """Stop, and remove the link and namespace (the upper layer stays until destroy)."""
        self.stop()
        run(["ip", "link", "del", f"sct{self.index}h"], check=False, stderr=subprocess.DEVNULL)
        run(["ip", "netns", "del", self.netns], check=False, stderr=subprocess.DEVNULL)

    def destroy(self) -> None:
        self.down()
        shutil.rmtree(self.dir, ignore_errors=True)

    def inventory_line(self) -> str:
        return " ".join(
            [
                self.name,
                f"ansible_host={self.address}",
                "ansible_user=root",
                f"ansible_ssh_private_key_file={self.key}",
                "ansible_ssh_common_args=" + shlex.quote(" ".join(SSH_OPTIONS)),
                "ansible_python_interpreter=/usr/bin/python3",
            ]
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["up", "prepare", "boot", "down", "destroy", "inventory"])
    p.add_argument("name")
    p.add_argument("--scratch", required=True, type=Path)
    p.add_argument("--index", type=int, default=1)
    p.add_argument("--lower", action="append", default=[])
    p.add_argument("--config", help="a smartcam.conf to put on its boot partition")
    args = p.parse_args(argv)
    if args.action in ("up", "prepare"):
        from tests.roles import rootfs

        lower = args.lower or [str(rootfs.build())]
        m = Machine(args.name, args.index, args.scratch, lower)
        config = Path(args.config).read_text() if args.config else None
        m.up(config) if args.action == "up" else m.prepare(config)
        print(
            json.dumps(
                {"name": m.name, "address": m.address, "key": str(m.key), "root": str(m.root)}
            )
        )
        return 0
    m = Machine.load(args.name, args.scratch)
    if args.action == "boot":
        m.boot()
    elif args.action == "inventory":
        print(m.inventory_line())
    elif args.action == "down":
        m.down()
        m.save()
    else:
        m.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
