"""The filesystems of a soak, made and unmade by hand while the processes run.

Everything lives under one root that is a shared mount (a bind mount of itself, marked shared),
so a mount made or removed below it during the soak reaches the processes that `ip netns exec`
started earlier in mount namespaces of their own (their copies are slaves of ours).

  <root>/nas           the NAS: an ext4 image on a loop device, unmounted and remounted at will
  <root>/<x>/spool     each camera's spool: a tmpfs whose size can be squeezed and restored
  <root>/<x>/clock     how far each camera's wall clock is off ("0", "20", "-10" seconds),
                       read each second by tests/stepclock.c, preloaded into its processes

Root only; `problem()` says what is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests import stepclock

NAS_SIZE = "1G"
SPOOL_SIZE = 64 << 20


def problem() -> str | None:
    if os.geteuid() != 0:
        return "the soak mounts filesystems: it needs root (CI runs as root)"
    for tool in ("mount", "losetup", "mkfs.ext4", "ffprobe"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: util-linux, e2fsprogs, ffmpeg)"
    return stepclock.problem()


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout.strip()


class Stage:
    def __init__(self, root: Path, cameras: list[str]):
        self.root, self.cameras = Path(root), cameras
        self.nas = self.root / "nas"
        self.loop: str | None = None
        self.mounts: list[Path] = []  # innermost last

    def build(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._mount(self.root, "--bind", str(self.root), str(self.root))
        run("mount", "--make-shared", str(self.root))
        image = self.root.parent / f"{self.root.name}-nas.img"
        run("truncate", "-s", NAS_SIZE, str(image))
        run("mkfs.ext4", "-q", "-F", str(image))
        self.loop = run("losetup", "--find", "--show", str(image))
        image.unlink()  # the loop device holds it; nothing is left behind if we are killed
        self.nas.mkdir()
        self.mount_nas()
        for x in self.cameras:
            spool = self.spool(x)
            spool.mkdir(parents=True)
            self._mount(spool, "-t", "tmpfs", "-o", f"size={SPOOL_SIZE}", "tmpfs", str(spool))
            self.set_clock(x, 0)

    def _mount(self, point: Path, *argv: str) -> None:
        run("mount", *argv)
        self.mounts.append(point)

    # -- the NAS -----------------------------------------------------------------------------

    def mount_nas(self) -> None:
        run("mount", "-o", "noatime", str(self.loop), str(self.nas))

    def unmount_nas(self) -> None:
        """Lazily, as a share that drops away does: open files stay usable on the detached
        filesystem, and no new path lookup reaches it."""
        run("umount", "--lazy", str(self.nas))

    def nas_mounted(self) -> bool:
        return os.path.ismount(self.nas)

    def bare_files(self) -> dict[str, int]:
        """What is in the mount point itself, under the NAS (call it with the NAS unmounted)."""
        assert not self.nas_mounted()
        return {str(p.relative_to(self.nas)): p.stat().st_size
                for p in self.nas.rglob("*") if p.is_file()}

    # -- spools and clocks -------------------------------------------------------------------

    def spool(self, x: str) -> Path:
        return self.root / x / "spool"

    def spool_used(self, x: str) -> int:
        st = os.statvfs(self.spool(x))
        return (st.f_blocks - st.f_bfree) * st.f_frsize

    def spool_free(self, x: str) -> int:
        st = os.statvfs(self.spool(x))
        return st.f_bavail * st.f_frsize

    def resize_spool(self, x: str, size: int) -> None:
        """tmpfs refuses a size below what it holds: never asked for less."""
        size = max(size, self.spool_used(x) + (256 << 10))
        run("mount", "-o", f"remount,size={size}", str(self.spool(x)))

    def clock_env(self, x: str) -> dict[str, str]:
        """The environment that puts x's processes on a wall clock we can step."""
        return stepclock.env(self._clock(x))

    def _clock(self, x: str) -> Path:
        return self.root / x / "clock"

    def set_clock(self, x: str, offset: int) -> None:
        stepclock.step(self._clock(x), offset)

    # -- the end -----------------------------------------------------------------------------

    def close(self) -> None:
        if self.nas_mounted():
            subprocess.run(["umount", "--lazy", str(self.nas)], capture_output=True)
        for point in reversed(self.mounts):
            subprocess.run(["umount", "--lazy", str(point)], capture_output=True)
        self.mounts.clear()
        if self.loop:
            subprocess.run(["losetup", "-d", self.loop], capture_output=True)
            self.loop = None
