"""Writing a file so that a crash or power cut leaves either the old one or the new one whole."""

from __future__ import annotations

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


def write_if_changed(path: Path, text: str, mode: int) -> bool:
    """write_atomic(), making missing folders, unless the file already holds exactly `text`
    with permission bits `mode`; True if it was written. Unchanged files are not touched, so
    a program that applies the same settings at every boot writes nothing the second time."""
    if holds(path, text, mode):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text.encode(), mode)
    return True


def holds(path: Path, text: str, mode: int) -> bool:
    """Whether the file exists with exactly this text and these permission bits."""
    try:
        return path.read_text() == text and (path.stat().st_mode & 0o777) == mode
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return False


def fsync_dir(path: Path) -> None:
    """Make the renames in a folder durable (where the filesystem lets a folder be fsynced)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
