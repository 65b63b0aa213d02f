"""Real footage for the demo, the tests and the benchmarks, fetched once and cached.

Both files are OpenCV's sample data as Debian's `opencv-doc` package ships them:
- `vtest.avi` (768x576, 10 fps, 795 frames of pedestrians on a plaza, every frame has someone
  in it);
- `tree.avi` (320x240 Cinepak, 68 pictures in 29.6 s: a tree swaying in the wind, then a hand).
The first call downloads that package with `apt-get download`, pulls the files out of it and
keeps them under `$SMARTCAM_CACHE/footage/` (default ~/.cache/smartcam), outside any checkout.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from smartcam.errors import SourceError
from smartcam.files import write_atomic

PACKAGE = "opencv-doc"
FOLDER = "usr/share/doc/opencv-doc/examples/data/"
FILES = ("vtest.avi", "tree.avi")


class FootageError(SourceError):
    """The footage could not be fetched; the message says what to install or check."""


def cache_dir() -> Path:
    root = os.environ.get("SMARTCAM_CACHE") or Path.home() / ".cache" / "smartcam"
    return Path(root) / "footage"


def footage_path(name: str = "vtest.avi") -> Path:
    """One of FILES in the cache, fetched from Debian's opencv-doc package on first use."""
    if name not in FILES:
        raise ValueError(f"{name} is not one of {', '.join(FILES)}")
    path = cache_dir() / name
    if path.exists():
        return path
    with _locked(path):
        if not path.exists():
            _fetch(path)
    return path


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise fetches between concurrent test processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _fetch(path: Path) -> None:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise FootageError(
            f"need apt-get and dpkg-deb to fetch {path.name} from Debian's {PACKAGE} package; "
            f"on a non-Debian system copy {path.name} from OpenCV's samples/data to {path}"
        )
    with tempfile.TemporaryDirectory(prefix="smartcam-footage-") as tmp:
        download = ["apt-get", "download", "-q", PACKAGE]
        done = subprocess.run(download, cwd=tmp, capture_output=True, text=True)
        if done.returncode != 0:  # a stale or missing package list: refresh it once
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True)
            done = subprocess.run(download, cwd=tmp, capture_output=True, text=True)
        debs = sorted(Path(tmp).glob(f"{PACKAGE}_*.deb"))
        if done.returncode != 0 or not debs:
            raise FootageError(f"`apt-get download {PACKAGE}` failed: {done.stderr.strip()}")
        _extract(debs[0], path)


def _extract(deb: Path, path: Path) -> None:
    """Stream the package's data tar and copy every one of FILES out, atomically."""
    unpack = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    assert unpack.stdout is not None
    try:
        with tarfile.open(fileobj=unpack.stdout, mode="r|") as tar:
            for member in tar:
                folder, _, name = member.name.lstrip("./").rpartition("/")
                if f"{folder}/" == FOLDER and name in FILES and member.isfile():
                    source = tar.extractfile(member)
                    assert source is not None
                    write_atomic(path.parent / name, source.read(), mode=0o644)
    finally:
        unpack.stdout.close()
        unpack.kill()
        unpack.wait()
    if not path.exists():
        raise FootageError(f"{deb.name} has no {FOLDER}{path.name}")
