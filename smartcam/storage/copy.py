"""A verified copy onto the NAS: bytes across, fsync, the hash read back, then renamed into place.

The contract's upload step (DESIGN.md): a clip file on the NAS is either absent, a hidden
`.<name>.part` copy under way, or whole and equal to the spool's (size and sha256).
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable

from smartcam.errors import SmartcamError
from smartcam.files import fsync_dir

CHUNK = 4 << 20


class CopyCorrupt(SmartcamError, OSError):
    """The copy on the NAS does not match: it was not put into place; try again."""


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
