"""Helpers for tests with a NAS: a real mounted filesystem, and real clips to publish.

`mounted_nas(tmp)` gives a NAS that can be unmounted and mounted back, as root:
- Samba on loopback mounted with cifs (smbd with a private config in `tmp`, 127.0.0.1 on a
  free port, mount.cifs `port=`), when the kernel can mount cifs and samba/cifs-utils are
  installed (`SMARTCAM_TEST_NAS=cifs` insists on it);
- otherwise (or with `SMARTCAM_TEST_NAS=mount`) an ext4 image on a loop device, for
  `type = mount`. The loop device stays attached across remounts, so a mount after a lazy
  `umount -l` finds the same superblock the detached mount may still be using.
Every mount, loop device and daemon is undone on the way out, also when the test failed.

`record_clip` records a real clip (synthetic source, libx264, the camera's own Recorder and
spool); `publish` puts a copy of it in an outbox under a new name the way the camera does.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from smartcam.camera.finisher import Finisher
from smartcam.camera.frames import SourceInfo
from smartcam.camera.recorder import Recorder, RecordSettings, Trigger
from smartcam.camera.spool import Spool
from smartcam.camera.synthetic import SyntheticSource
from smartcam.clips.names import new_id

SMB_CONF = """\
[global]
  interfaces = 127.0.0.1
  bind interfaces only = yes
  smb ports = {port}
  disable netbios = yes
  server min protocol = SMB2
  map to guest = Bad User
  private dir = {dir}/private
  state directory = {dir}/state
  cache directory = {dir}/cache
  lock directory = {dir}/lock
  pid directory = {dir}/run
  ncalrpc dir = {dir}/run/ncalrpc
  log file = {dir}/log.%m
  load printers = no
  printing = bsd
  printcap name = /dev/null
[nas]
  path = {dir}/share
  read only = no
  guest ok = yes
  force user = root
"""


def _run(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: exit {done.returncode}: {done.stderr.strip()}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cifs_possible() -> str | None:
    """Why a cifs mount cannot work here, or None when it is worth trying."""
    if not (shutil.which("smbd") and shutil.which("mount.cifs")):
        return "samba or cifs-utils is not installed"
    with open("/proc/filesystems") as f:
        if "cifs" in f.read().split():
            return None
    if Path("/lib/modules", os.uname().release).is_dir():
        return None  # a module the mount may load
    return "the kernel has no cifs filesystem and no modules to load one from"


class MountedNas:
    """A filesystem mounted at `point`; `kind` is the [storage] type that fits it."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.point = tmp / "nas"
        self.point.mkdir(parents=True)
        self.kind = ""
        self.note = ""  # why it is not cifs, for the test's report
        self._mount: list[str] = []
        self._undo: list[list[str]] = []
        self._smbd: subprocess.Popen[bytes] | None = None

    def mounted(self) -> bool:
        return os.path.ismount(self.point)

    def mount(self) -> None:
        _run(*self._mount)

    def unmount(self, lazy: bool = True) -> None:
        _run("umount", *(["-l"] if lazy else []), str(self.point))

    def start_cifs(self) -> None:
        root = self.tmp / "samba"
        for sub in ("private", "state", "cache", "lock", "run", "share"):
            (root / sub).mkdir(parents=True)
        port = _free_port()
        conf = root / "smb.conf"
        conf.write_text(SMB_CONF.format(port=port, dir=root))
        log = open(root / "smbd.out", "wb")
        self._smbd = subprocess.Popen(
            ["smbd", "--foreground", "--no-process-group", "--debug-stdout", "-s", str(conf)],
            stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # smbd signals its whole process group when it stops
        log.close()
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if self._smbd.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("smbd did not start: "
                                       + (root / "smbd.out").read_text(errors="replace")) from None
                time.sleep(0.1)
        self._mount = ["mount", "-t", "cifs", "//127.0.0.1/nas", str(self.point), "-o",
                       f"port={port},guest,vers=3.0,noperm,actimeo=1"]
        self.mount()
        self.kind = "cifs"

    def start_loop(self, size: str = "128M") -> None:
        image = self.tmp / "nas.img"
        _run("truncate", "-s", size, str(image))
        _run("mkfs.ext4", "-q", "-F", str(image))
        found = subprocess.run(["losetup", "--find", "--show", str(image)],
                               capture_output=True, text=True)
        if found.returncode:
            raise RuntimeError(f"losetup: {found.stderr.strip()}")
        device = found.stdout.strip()
        self._undo.append(["losetup", "-d", device])
        self._mount = ["mount", "-t", "ext4", device, str(self.point)]
        self.mount()
        self.kind = "mount"

    def close(self) -> None:
        for _ in range(3):  # a test may have mounted it back more than once
            if not self.mounted():
                break
            subprocess.run(["umount", "-l", str(self.point)], capture_output=True)
        if self._smbd and self._smbd.poll() is None:
            self._smbd.terminate()
            try:
                self._smbd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._smbd.kill()
                self._smbd.wait()
        for cmd in reversed(self._undo):
            subprocess.run(cmd, capture_output=True)


@contextmanager
def mounted_nas(tmp: Path) -> Iterator[MountedNas]:
    """A mounted NAS (cifs if it can be had, else ext4 on a loop device); needs root."""
    want = os.environ.get("SMARTCAM_TEST_NAS", "")
    why_not = {"cifs": None, "mount": "SMARTCAM_TEST_NAS=mount"}.get(want, cifs_possible())
    if why_not is None:
        nas = MountedNas(tmp / "cifs")
        try:
            nas.start_cifs()
        except (OSError, RuntimeError) as err:
            nas.close()
            if want == "cifs":
                raise
            why_not = f"the cifs mount failed: {err}"
        else:
            try:
                yield nas
            finally:
                nas.close()
            return
    nas = MountedNas(tmp / "loop")
    nas.note = f"not cifs: {why_not}"
    try:
        nas.start_loop()
        yield nas
    finally:
        nas.close()


INFO = SourceInfo(640, 480, 30, 320, 240)


def record_clip(spool_dir: Path, seconds: float = 2.0, bitrate: int = 1_000_000,
                camera: str = "cam-a") -> dict:
    """Record one real clip into spool_dir/outbox/ as the camera would; returns its sidecar."""
    source = SyntheticSource(INFO, bitrate, "walkers", pace=False)
    spool = Spool(spool_dir)
    cards: list[dict] = []
    finisher = Finisher(spool, cards.append)
    recorder = Recorder(RecordSettings(0.5, seconds, 60.0), INFO, source.epoch, spool,
                        finisher, camera, "yard")
    try:
        def frames(n: float) -> float:
            t = 0.0
            for _ in range(round(n * INFO.fps)):
                capture = source.read()
                t = capture.t
                for packet in capture.packets:
                    recorder.push(packet)
            return t

        now = frames(1.0)
        recorder.trigger(Trigger("manual", now, now + seconds))
        frames(seconds + 1.0)
        recorder.stop()
    finally:
        finisher.close()
        source.close()
    (card,) = cards
    return card


def publish(source_outbox: Path, card: dict, outbox: Path, start: float | None = None,
            camera: str | None = None) -> str:
    """Copy a recorded clip into `outbox` under a new stem (its start time `start`, default
    now); video and thumbnail first, the sidecar last, each renamed into place."""
    from datetime import UTC, datetime

    camera = camera or card["camera"]
    stamp = datetime.fromtimestamp(time.time() if start is None else start, UTC)
    stem = f"{camera}_{stamp.strftime('%Y%m%dT%H%M%SZ')}_{new_id()}"
    new = dict(card, camera=camera, video=f"{stem}.mp4", thumbnail=f"{stem}.jpg")
    outbox.mkdir(parents=True, exist_ok=True)
    staging = outbox.parent / "recording"
    staging.mkdir(parents=True, exist_ok=True)
    for suffix, src in ((".mp4", card["video"]), (".jpg", card["thumbnail"])):
        shutil.copyfile(source_outbox / src, staging / f"{stem}{suffix}")
        os.replace(staging / f"{stem}{suffix}", outbox / f"{stem}{suffix}")
    (staging / f"{stem}.json").write_text(json.dumps(new, indent=1))
    os.replace(staging / f"{stem}.json", outbox / f"{stem}.json")
    return stem
