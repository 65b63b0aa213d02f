"""Files arriving in one directory, from inotify: the only module that imports inotify_simple.

A file "arrives" when it is renamed into the directory (IN_MOVED_TO, how the camera publishes
into the outbox and how the uploader puts a verified copy into place) or when a writer closes it
(IN_CLOSE_WRITE). A queue overflow is reported as an arrival of "" so the caller rescans.
"""

from __future__ import annotations

import os
from pathlib import Path

from inotify_simple import INotify, flags

ARRIVALS = flags.MOVED_TO | flags.CLOSE_WRITE


class DirWatch:
    """Names of the files that arrive in `path`, in the order they arrived."""

    def __init__(self, path: Path | str, mask: int = ARRIVALS):
        self._inotify = INotify()
        try:
            self._inotify.add_watch(os.fspath(path), mask)
        except BaseException:
            self._inotify.close()
            raise

    def fileno(self) -> int:
        return self._inotify.fileno()

    def wait(self, timeout: float) -> list[str]:
        """What arrived, waiting up to `timeout` seconds for the first; [] when nothing did."""
        names = []
        for event in self._inotify.read(timeout=max(0, round(timeout * 1000))):
            names.append("" if event.mask & flags.Q_OVERFLOW else event.name)
        return names

    def close(self) -> None:
        self._inotify.close()

    def __enter__(self) -> DirWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
