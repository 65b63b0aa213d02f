"""The NAS as the uploader and retention see it: really mounted, writable, how full, where clips go.

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
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from smartcam.camera.clipinfo import STEM
from smartcam.config import Config
from smartcam.errors import SmartcamError

MOUNTINFO = "/proc/self/mountinfo"
FSTYPES = {"cifs": ("cifs", "smb3"), "nfs": ("nfs", "nfs4")}  # type -> accepted fstypes
PROBE_SECONDS = 30.0  # at most one write probe per this many seconds
PROBE_NAME = ".smartcam-probe"
CHUNK = 4 << 20
_ESCAPE = re.compile(r"\\([0-7]{3})")


class NasUnavailable(SmartcamError, OSError):
    """The NAS is not mounted, not the configured kind, or not writable: nothing is written."""


class CopyCorrupt(SmartcamError, OSError):
    """The copy on the NAS does not match: it was not put into place; try again."""


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


def _parse(stem: str) -> re.Match[str]:
    match = STEM.match(stem)
    if not match:
        raise ValueError(f"not a clip name: {stem!r}")
    return match


def day_name(stem: str) -> str:
    """YYYY-MM-DD (UTC) of a clip stem; ValueError for a name that is not a clip's."""
    stamp = _parse(stem)["stamp"]
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"


def clip_dir(cfg: Config, stem: str) -> Path:
    """Where a clip lives on the NAS: <nas>/<camera>/<YYYY-MM-DD>/, both taken from the stem.

    The files are <stem>.mp4, <stem>.jpg and <stem>.json; the sidecar is put into place last,
    so a sidecar there means the clip is complete (a hidden .<name>.part is a copy under way).
    """
    return Path(cfg.storage.nas) / _parse(stem)["camera"] / day_name(stem)


def free_space(fd: int) -> tuple[int, int]:
    """(bytes free to us, total bytes) of the filesystem of an open descriptor."""
    st = os.fstatvfs(fd)
    return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


def copy_bytes(src: int, dst: int, size: int, tick: Callable[[], None]) -> None:
    """Copy `size` bytes from the start of src to dst; tick() between chunks (it may raise)."""
    offset = 0
    while offset < size:
        try:
            sent = os.sendfile(dst, src, offset, min(CHUNK, size - offset))
        except OSError as err:
            if err.errno not in (errno.EINVAL, errno.ENOSYS) or offset:
                raise
            sent = os.write(dst, os.pread(src, min(CHUNK, size - offset), offset))
        if sent == 0:
            raise OSError(errno.EIO, f"the source ended at {offset} of {size} bytes")
        offset += sent
        tick()


def sha256_fd(fd: int) -> str:
    """The sha256 of a file read from its storage (cached pages dropped first where possible)."""
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass
    digest = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, CHUNK, offset):
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()


def hash_at(dir_fd: int, name: str) -> str:
    fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        return sha256_fd(fd)
    finally:
        os.close(fd)


def size_at(dir_fd: int, name: str) -> int | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_size
    except FileNotFoundError:
        return None


def put_file(
    day: int, name: str, src: int, size: int, sha256: str, tick: Callable[[], None]
) -> None:
    """Make `name` in the folder `day` a verified copy of `size` bytes of `src`.

    Copied to the hidden `.<name>.part`, fsynced, its size checked and its sha256 read back
    from the NAS compared with `sha256`; only then renamed into place and the folder fsynced.
    A wrong copy is removed and raises CopyCorrupt; `name` never shows a partial file.
    """
    part = f".{name}.part"
    dst = os.open(part, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644, dir_fd=day)
    try:
        copy_bytes(src, dst, size, tick)
        os.fsync(dst)
        got_size = os.fstat(dst).st_size
        got = sha256_fd(dst) if got_size == size else None
    finally:
        os.close(dst)
    if got != sha256:
        os.unlink(part, dir_fd=day)
        what = f"{got_size} bytes, not {size}" if got is None else "its sha256 differs"
        raise CopyCorrupt(errno.EIO, f"the NAS copy of {name} is wrong ({what})")
    os.rename(part, name, src_dir_fd=day, dst_dir_fd=day)
    fsync_dir(day)


def fsync_dir(fd: int) -> None:
    """Make renames in a directory durable; some filesystems cannot sync a directory (fine)."""
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.EOPNOTSUPP):  # vfat, some network filesystems
            raise


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
    def open(self, create: bool = True, camera: str | None = None) -> Iterator[int]:
        """A descriptor of <nas>/<camera>/ on the verified NAS (made if missing and `create`).

        `camera` defaults to this camera's name. Raises NasUnavailable when <nas> is not
        mounted as configured, and OSError as the NAS does. Never creates <nas> itself, except
        for type = local.
        """
        camera = camera or self.camera
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
            if create:
                try:
                    os.mkdir(camera, 0o755, dir_fd=root)
                except FileExistsError:
                    pass
            try:
                fd = os.open(camera, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=root)
            except FileNotFoundError as err:
                raise NasUnavailable(errno.ENOENT, f"{self.path / camera} does not exist") from err
        finally:
            os.close(root)
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
                os.unlink(PROBE_NAME, dir_fd=fd)
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
        error = None
        try:
            writable = self.probe(fd)
        except OSError as err:
            writable, error = False, f"cannot write in {self.path / self.camera}: {err}"
        free, total = free_space(fd)
        return NasState(str(self.path), self.type, True, writable, fstype, free, total, error,
                        time.time())

    def down(self, error: str) -> NasState:
        return NasState(str(self.path), self.type, False, False, error=error, checked=time.time())
