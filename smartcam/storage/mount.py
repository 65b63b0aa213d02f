"""The NAS as the uploader, retention and discovery see it: really mounted, writable, how full.

"Mounted" is decided from /proc/self/mountinfo and from the directory itself, never from the
directory merely existing: an unmounted mount point is a plain folder on the SD card, and
writing there would fill the card and hide the clips from the NAS when it comes back. So every
write goes through `Nas.open()`, which opens `<nas>` first, then checks that what it opened is
the root of a mount of the configured type (same device as the mountinfo entry), and hands out
a descriptor of `<nas>/<camera>/`. Paths below it are resolved against that descriptor, so a
NAS that goes away between the check and a write can never redirect the write into the bare
mount point; at worst the write fails or lands on the (lazily) detached NAS filesystem.
Opening `<nas>` also triggers a systemd automount (an `autofs` entry under the real mount).
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from smartcam.config import Config
from smartcam.errors import SmartcamError

MOUNTINFO = "/proc/self/mountinfo"
FSTYPES = {"cifs": ("cifs", "smb3"), "nfs": ("nfs", "nfs4")}  # type -> accepted fstypes
PROBE_SECONDS = 30.0  # at most one write probe per this many seconds
PROBE_NAME = ".smartcam-probe"  # one file, rewritten by each probe
_ESCAPE = re.compile(r"\\([0-7]{3})")


class NasUnavailable(SmartcamError, OSError):
    """The NAS is not mounted, not the configured kind, or not writable: nothing is written."""


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo."""

    point: str
    fstype: str
    source: str
    dev: tuple[int, int]  # major, minor: st_dev of files on it


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in octal: \\040 \\011 \\012 \\134."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        sep = fields.index("-", 6)
        if len(fields) < sep + 3 or ":" not in fields[2]:
            continue
        major, minor = fields[2].split(":", 1)
        mounts.append(
            Mount(_unescape(fields[4]), fields[sep + 1], _unescape(fields[sep + 2]),
                  (int(major), int(minor)))
        )
    return mounts


def mount_at(point: Path | str, text: str | None = None) -> Mount | None:
    """The topmost mount whose mount point is exactly `point`, or None."""
    if text is None:
        with open(MOUNTINFO) as f:
            text = f.read()
    found = None
    for mount in parse_mountinfo(text):
        if mount.point == os.fspath(point):
            found = mount  # later lines are mounted over earlier ones (autofs, then cifs)
    return found


def free_space(fd: int) -> tuple[int, int]:
    """(bytes free to us, total bytes) of the filesystem of an open descriptor."""
    st = os.fstatvfs(fd)
    return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


# What a NAS error means for the person reading the page, by errno: "down" for the rest.
TROUBLE = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "over quota",
    errno.EROFS: "read-only",
    errno.EACCES: "refused",
    errno.EPERM: "refused",
}


def trouble(err: BaseException) -> str:
    """What kind of NAS trouble an error is: down, full, over quota, read-only or refused.

    A server that stopped answering shows as EHOSTDOWN, ETIMEDOUT, EIO, EAGAIN, ENOTCONN or
    ESTALE on a mounted share, and as ENODEV or a refused connection on an automount: down."""
    return TROUBLE.get(getattr(err, "errno", None), "down")


@dataclass(frozen=True)
class NasState:
    """What the last look at the NAS found (health shows it; taking it costs NAS I/O)."""

    path: str
    type: str
    mounted: bool
    writable: bool
    fstype: str | None = None
    free_bytes: int | None = None
    total_bytes: int | None = None
    error: str | None = None
    checked: float | None = None  # wall clock
    trouble: str | None = None  # trouble(): down, full, over quota, read-only, refused

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Nas:
    """The configured NAS folder of one camera."""

    def __init__(self, cfg: Config, probe_seconds: float = PROBE_SECONDS):
        self.path = Path(cfg.storage.nas)
        self.type = cfg.storage.type
        self.camera = cfg.camera.name
        self.probe_seconds = probe_seconds
        self._probed_at = -1e18
        self._writable = False

    def _point(self) -> str:
        # Resolve symlinks in the parent only: looking up <nas> itself would touch the NAS.
        return os.path.join(os.path.realpath(self.path.parent), self.path.name)

    def mount_problem(self, text: str | None = None) -> str | None:
        """Why <nas> is not mounted as configured, from mountinfo alone (no NAS I/O); or None."""
        if self.type == "local":
            return None
        mount = mount_at(self._point(), text)
        if mount is None:
            return f"{self.path} is not mounted"
        if mount.fstype == "autofs":
            return None  # an automount: opening <nas> mounts it (open() checks again)
        wanted = FSTYPES.get(self.type)
        if wanted and mount.fstype not in wanted:
            return f"{self.path} is a {mount.fstype} mount, not {self.type}"
        return None

    def mounted(self) -> bool:
        """Is the NAS itself mounted (not only its automount)? From mountinfo: looking at it
        then costs no NAS I/O and never starts an automount."""
        if self.type == "local":
            return True
        mount = mount_at(self._point())
        return mount is not None and mount.fstype in FSTYPES.get(self.type, (mount.fstype,))

    def _automount_only(self) -> bool:
        mount = mount_at(self._point())
        return mount is not None and mount.fstype == "autofs"

    def _verify(self, root: int) -> str | None:
        """Is the opened <nas> the root of a mount of the configured kind?"""
        mount = mount_at(self._point())
        if mount is None:
            return f"{self.path} is not mounted"
        wanted = FSTYPES.get(self.type)
        if mount.fstype == "autofs" or (wanted and mount.fstype not in wanted):
            return f"{self.path} is a {mount.fstype} mount, not {self.type}"
        st = os.fstat(root)
        if (os.major(st.st_dev), os.minor(st.st_dev)) == mount.dev:
            return None
        if st.st_dev != os.stat("..", dir_fd=root).st_dev:
            return None  # a root of its own filesystem (btrfs subvolumes report other numbers)
        return f"{self.path} is not the mounted filesystem (it went away?)"

    @contextmanager
    def root(self) -> Iterator[int]:
        """A descriptor of <nas> itself, checked to be the root of a mount of the configured
        type. Raises NasUnavailable when it is not, and OSError as the NAS does. Never creates
        <nas>, except for type = local."""
        if self.type == "local":
            self.path.mkdir(parents=True, exist_ok=True)
        elif problem := self.mount_problem():
            raise NasUnavailable(problem)
        try:
            root = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError as err:
            raise NasUnavailable(f"{self.path} does not exist") from err
        except OSError as err:
            if self.type != "local" and self._automount_only():
                # The automount tried and failed (server down, ENODEV, bad credentials).
                raise NasUnavailable(f"{self.path}: the automount could not mount it ({err})") \
                    from err
            raise
        try:
            if self.type != "local" and (problem := self._verify(root)):
                raise NasUnavailable(problem)
            yield root
        finally:
            os.close(root)

    @contextmanager
    def open(self, create: bool = True, camera: str | None = None) -> Iterator[int]:
        """A descriptor of <nas>/<camera>/ on the verified NAS (made if missing and `create`).

        `camera` defaults to this camera's name. Raises as root() does.
        """
        camera = camera or self.camera
        with self.root() as root:
            if create:
                try:
                    os.mkdir(camera, 0o755, dir_fd=root)
                except FileExistsError:
                    pass
            try:
                fd = os.open(camera, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=root)
            except FileNotFoundError as err:
                raise NasUnavailable(errno.ENOENT, f"{self.path / camera} does not exist") from err
        try:
            yield fd
        finally:
            os.close(fd)

    def probe(self, fd: int, force: bool = False) -> bool:
        """Can we write in <nas>/<camera>/? Tried for real at most every probe_seconds."""
        now = time.monotonic()
        if force or now - self._probed_at >= self.probe_seconds:
            self._probed_at = now
            try:
                probe = os.open(PROBE_NAME, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644,
                                dir_fd=fd)
                try:
                    os.write(probe, b"smartcam\n")
                finally:
                    os.close(probe)
                # Left in place and rewritten next time: deleting it every 30 s would fill a
                # recycle bin (Samba's vfs_recycle, Synology's #recycle) with probes.
                self._writable = True
            except OSError:
                self._writable = False
                raise
        return self._writable

    def forget_probe(self) -> None:
        """A write failed: probe again at the next look."""
        self._probed_at = -1e18

    def look(self, fd: int) -> NasState:
        """The state of the opened NAS: mounted (it is), writable, free space."""
        fstype = None if self.type == "local" else getattr(mount_at(self._point()), "fstype", None)
        error = kind = None
        try:
            writable = self.probe(fd)
        except OSError as err:
            writable, kind = False, trouble(err)
            error = f"cannot write in {self.path / self.camera}: {err}"
        free, total = free_space(fd)
        return NasState(str(self.path), self.type, True, writable, fstype, free, total, error,
                        time.time(), kind)

    def down(self, error: str) -> NasState:
        return NasState(str(self.path), self.type, False, False, error=error, checked=time.time(),
                        trouble="down")
