"""A wall clock a test can step under a real process: stepclock.c, preloaded.

    env = stepclock.env(path)          # the environment for the process
    stepclock.step(path, -10)          # its wall clock is now 10 s behind (within a second)

CLOCK_REALTIME moves; CLOCK_MONOTONIC does not, as with an NTP step. The library is compiled
once with gcc and cached outside the clone, keyed by its source.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).with_name("stepclock.c")
RELOAD = 1.0  # seconds: the library reads the file at most this often


def problem() -> str | None:
    if shutil.which("gcc") is None:
        return "gcc is not installed (Debian: gcc, libc6-dev)"
    return None


def library() -> Path:
    source = SOURCE.read_bytes()
    cache = Path(os.environ.get("SMARTCAM_CACHE", Path.home() / ".cache" / "smartcam"))
    lib = cache / "stepclock" / f"stepclock-{hashlib.sha256(source).hexdigest()[:12]}.so"
    if not lib.exists():
        lib.parent.mkdir(parents=True, exist_ok=True)
        tmp = lib.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-o", str(tmp), str(SOURCE),
                        "-ldl"], check=True, capture_output=True)
        tmp.replace(lib)
    return lib


def env(path: Path) -> dict[str, str]:
    """The environment for a process whose wall clock follows `path` (made if missing)."""
    if not path.exists():
        step(path, 0)
    return {"LD_PRELOAD": str(library()), "SMARTCAM_CLOCK_FILE": str(path)}


def step(path: Path, seconds: float) -> None:
    """Set how far the clock is off the true time (not cumulative)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{seconds}\n")
    tmp.replace(path)  # the library never reads a half-written file
