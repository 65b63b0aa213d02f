"""A real NAS for the booted stand-ins: Debian's smbd serving one share on this machine's loopback.

Everything it keeps (its databases, logs, the share) lives in the test's folder; it listens on
127.0.0.1 only, on a free port, which qemu forwards to the guests as 10.0.2.100:445. The guests
log in as `cam` with a password, as to a home NAS (mapped to the local root, which owns the files).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.image.vm import free_port
from tests.waiting import wait_for

USER, PASSWORD, SHARE = "cam", "nas-pass-1", "cams"


class Samba:
    def __init__(self, folder: Path):
        self.folder = folder
        self.share = folder / "share"
        # what the guests see: the share, or what serve() put there instead
        self.path = self.share
        self.options = ""
        self.port = free_port()
        self.conf = folder / "smb.conf"
        self.proc: subprocess.Popen | None = None

    def config(self) -> str:
        f = self.folder
        return f"""[global]
server role = standalone server
smb ports = {self.port}
interfaces = lo
bind interfaces only = yes
disable netbios = yes
server min protocol = SMB2_10
passdb backend = tdbsam:{f}/passdb.tdb
username map = {f}/users.map
private dir = {f}/private
lock directory = {f}/lock
state directory = {f}/state
cache directory = {f}/cache
pid directory = {f}/run
ncalrpc dir = {f}/ncalrpc
log file = {f}/log.smbd
load printers = no
disable spoolss = yes

[{SHARE}]
path = {self.path}
read only = no
valid users = root
{self.options}"""

    def start(self) -> None:
        for d in ("private", "lock", "state", "cache", "run", "ncalrpc", "share"):
            (self.folder / d).mkdir(parents=True, exist_ok=True)
        (self.folder / "users.map").write_text(f"root = {USER}\n")
        self.conf.write_text(self.config())
        subprocess.run(
            ["smbpasswd", "-c", str(self.conf), "-s", "-a", "root"],
            input=f"{PASSWORD}\n{PASSWORD}\n",
            text=True,
            check=True,
            capture_output=True,
        )
        with (self.folder / "smbd.out").open("wb") as out:
            self.proc = subprocess.Popen(
                ["smbd", "--foreground", "--no-process-group", "-s", str(self.conf)],
                stdout=subprocess.DEVNULL,
                stderr=out,
                start_new_session=True,  # smbd's exit signals its process group: not ours
            )
        wait_for(self.listening, timeout=30, what="smbd listening", poll=0.2)

    def listening(self) -> bool:
        assert self.proc.poll() is None, (self.folder / "smbd.out").read_text()
        done = subprocess.run(
            ["smbclient", "-p", str(self.port), "-U", f"{USER}%{PASSWORD}", "-c", "ls",
             f"//127.0.0.1/{SHARE}"],
            capture_output=True,
        )  # fmt: skip
        return done.returncode == 0

    def serve(self, path: Path, options: str = "") -> None:
        """Restart serving the share from another folder, with more smb.conf options (a NAS
        whose owner switched on a recycle bin, say)."""
        self.stop()
        self.path, self.options = path, options
        self.start()

    def freeze(self) -> None:
        """Hang the server and every client session of it (each is a child of its own, in its
        process group): connections stay open and nothing answers, as a NAS that froze or lost
        its power mid-session (no reset reaches the client)."""
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.killpg(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.thaw()  # a frozen server could not hear the request to stop
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
