"""Writing a file so that a crash or power cut leaves either the old one or the new one whole.

The one atomic writer of the package: config write-back, the spool, footage, live.jpg, the NAS
discovery notes and the boot-time programs (smartcam/system/) all go through it.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write through a hidden `.<name>.*.tmp` beside it, fsync, rename into place, fsync the folder.

    `mode` None keeps an existing file's mode; a new file then keeps mkstemp's 0600 (it may
    hold a password).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, mode if mode is not None else path.stat().st_mode & 0o7777)
        except OSError:  # no old file, or FAT (/boot/firmware) where modes are fixed at mount
            pass
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_if_changed(path: Path, text: str, mode: int | None) -> bool:
    """write_atomic(), making missing folders, unless the file already holds exactly `text`
    with permission bits `mode`; True if it was written. Unchanged files are not touched, so
    a program that applies the same settings at every boot writes nothing the second time.
    mode None: the text alone decides (a FAT has no permissions: it reports its mount's)."""
    if holds(path, text, mode):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text.encode(), 0o644 if mode is None else mode)
    return True


def holds(path: Path, text: str, mode: int | None) -> bool:
    """Whether the file exists with exactly this text and (unless None) permission bits."""
    try:
        same = path.read_text() == text
        return same and (mode is None or (path.stat().st_mode & 0o777) == mode)
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return False


def write_atomic_at(folder: int, name: str, data: bytes, mode: int = 0o644) -> None:
    """write_atomic() into an open folder, following no symlink: for the NAS, where a path
    could lead somewhere else between a check and the write (see storage/mount.py).

    The file's one writer (a camera in its own folder) always uses the same hidden temporary
    name, so a write killed before its rename leaves one file that the next write reuses, not
    one more per crash on a share that nobody cleans."""
    tmp = f".{name}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, mode, dir_fd=folder)
    try:
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=folder)
        except OSError:
            pass
        raise
    fsync_dir(folder)


def fsync_dir(folder: Path | int) -> None:
    """Make the renames in a folder (a path, or an open descriptor) durable.

    Some filesystems cannot sync a folder (vfat, some network filesystems): that is fine. A
    real I/O error is raised, since the rename may then not survive.
    """
    fd = folder if isinstance(folder, int) else os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
            raise
    finally:
        if not isinstance(folder, int):
            os.close(fd)
