"""The machine `smartcam system apply` changes: its files under a root, its commands, a log.

A root other than / is a directory tree standing in for the machine (the tests, an image);
a dry run says what would change and changes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from smartcam.files import holds, write_if_changed


@dataclass
class Machine:
    """The machine being changed: files under `root`, commands through `run`."""

    root: Path = Path("/")
    dry_run: bool = False
    run_command: Callable[[Sequence[str]], int] | None = None
    changes: list[str] = field(default_factory=list)

    def path(self, absolute: str) -> Path:
        """A path of the machine, under root (the config file's own folder is given as is)."""
        if absolute.startswith("!"):
            return Path(absolute[1:])
        return self.root / absolute.lstrip("/")

    def run(self, *argv: str) -> int:
        if self.dry_run:
            print("would run:", " ".join(argv))
            return 0
        if self.run_command is not None:
            return self.run_command(argv)
        if shutil.which(argv[0]) is None:
            return 127
        return subprocess.run(list(argv), check=False).returncode

    def changed(self, what: str) -> None:
        self.changes.append(what)
        print(("would change: " if self.dry_run else "changed: ") + what, flush=True)

    def write(self, absolute: str, text: str, mode: int | None = 0o644) -> bool:
        """Write a file (atomically) unless it already holds exactly this; True if written."""
        path = self.path(absolute)
        if self.dry_run:
            return not holds(path, text, mode)
        return write_if_changed(path, text, mode)

    def remove(self, absolute: str) -> bool:
        path = self.path(absolute)
        if not path.exists() and not path.is_symlink():
            return False
        if not self.dry_run:
            path.unlink()
        return True

    def read(self, absolute: str) -> str:
        try:
            return self.path(absolute).read_text()
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            return ""
