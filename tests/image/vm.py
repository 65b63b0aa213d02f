"""A card booted under qemu-system-aarch64 -M virt (TCG), reachable only through forwarded ports.

Each guest has up to two network cards:

* ``enp0s3``: qemu's user network with ``restrict=on``, so the guest reaches nothing but what the
  test forwards: its nginx (80) and sshd (22) to ports on this machine's loopback, and the NAS
  (10.0.2.100:445 in the guest) to the test's Samba server on this machine's loopback.
* ``enp0s4`` (optional): a link of the cameras' own, a qemu socket between two guests over
  this machine's loopback (one listens, the other connects), on which they find each other.

The virtual watchdog (i6300esb) is there for systemd to arm. Console output goes to
console.log; commands run over SSH, with the key the test put in smartcam.conf.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.waiting import wait_for

NAS_ADDRESS = "10.0.2.100"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing_tools() -> list[str]:
    tools = ("qemu-system-aarch64", "mkfs.vfat", "mtype", "mcopy", "sfdisk", "mke2fs", "smbd",
             "socat")  # fmt: skip
    return [t for t in tools if shutil.which(t) is None]


@dataclass
class Guest:
    name: str
    card: Path
    kernel: tuple[Path, Path]
    nas_port: int
    key: Path
    link: tuple[str, int] | None = None  # ("listen" | "connect", port)
    index: int = 1
    http: int = field(default_factory=free_port)
    ssh_port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def console(self) -> Path:
        return self.card.with_name(f"{self.name}-console.log")

    @property
    def qmp_socket(self) -> Path:
        return self.card.with_name(f"{self.name}-qmp.sock")

    def command(self) -> list[str]:
        vmlinuz, initrd = self.kernel
        lan = (
            f"user,id=lan,restrict=on,hostfwd=tcp:127.0.0.1:{self.http}-:80,"
            f"hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22,"
            f"guestfwd=tcp:{NAS_ADDRESS}:445-cmd:socat STDIO TCP:127.0.0.1:{self.nas_port}"
        )
        cmd = [
            "qemu-system-aarch64",
            "-M", "virt",
            "-cpu", "cortex-a72",
            "-smp", "2",
            "-m", "1024",
            "-accel", "tcg,thread=multi",
            "-kernel", str(vmlinuz),
            "-initrd", str(initrd),
            "-append", "root=LABEL=rootfs rootfstype=ext4 rw console=ttyAMA0 panic=-1",
            "-drive", f"file={self.card},format=raw,if=none,id=hd0,cache=unsafe",
            "-device", "virtio-blk-pci,drive=hd0",
            "-netdev", lan,
            "-device", f"virtio-net-pci,netdev=lan,addr=0x3,mac=52:54:00:12:34:{self.index:02x}",
            "-device", "i6300esb",
            "-serial", f"file:{self.console}",
            "-display", "none",
            "-monitor", "none",
            "-qmp", f"unix:{self.qmp_socket},server=on,wait=off",
            "-no-reboot",
        ]  # fmt: skip
        if self.link:
            mode, port = self.link
            cmd += [
                "-netdev", f"socket,id=peers,{mode}=127.0.0.1:{port}",
                "-device",
                f"virtio-net-pci,netdev=peers,addr=0x4,mac=52:54:00:ab:cd:{self.index:02x}",
            ]  # fmt: skip
        return cmd

    def start(self) -> None:
        self.console.unlink(missing_ok=True)
        with self.card.with_suffix(".qemu.log").open("wb") as log:
            self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=log)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def written_bytes(self) -> int:
        """Bytes the guest has written to its card, counted by qemu (QMP query-blockstats): seen
        from outside, so measuring it does not log in and write a login record itself."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.qmp_socket))
            f = s.makefile("rw")
            f.readline()  # the greeting
            replies = []
            for command in ("qmp_capabilities", "query-blockstats"):
                f.write(json.dumps({"execute": command}) + "\n")
                f.flush()
                while "return" not in (reply := json.loads(f.readline())):
                    pass  # an event
                replies.append(reply["return"])
        (disk,) = [d for d in replies[1] if d.get("device") == "hd0"]
        return disk["stats"]["wr_bytes"]

    def ssh(self, script: str, check: bool = True, timeout: float = 120) -> str:
        done = subprocess.run(
            [
                "ssh", "-i", str(self.key), "-p", str(self.ssh_port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", "-o", "BatchMode=yes",
                "root@127.0.0.1", script,
            ],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if check and done.returncode:
            raise AssertionError(f"{self.name}: {script!r} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def wait_ssh(self, timeout: float = 900) -> None:
        def up() -> bool:
            assert self.alive(), f"{self.name} stopped; console:\n{self.tail()}"
            try:
                return self.ssh("echo ok", check=False, timeout=30).strip() == "ok"
            except subprocess.TimeoutExpired:
                return False

        wait_for(up, timeout=timeout, what=f"{self.name} answering SSH", poll=5)

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.console.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no console output)"

    def poweroff(self, timeout: float = 300) -> None:
        """A clean shutdown (the card is consistent afterwards), else qemu is killed."""
        if not self.alive():
            return
        try:
            self.ssh("systemctl poweroff", check=False, timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait()

