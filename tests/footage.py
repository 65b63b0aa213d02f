"""Real footage for tests and benchmarks, fetched once and cached outside the repository.

`vtest.avi` (768x576, 10 fps, 795 frames of pedestrians on a plaza, every frame has someone
in it) ships in Debian's `opencv-doc` package. The first call downloads that package with
`apt-get download`, pulls the one file out of it and keeps it under
`$SMARTCAM_CACHE/footage/` (default ~/.cache/smartcam). Beside it goes the background plate:
the temporal median of all frames at 320x240, which has no people in it. From the plate,
`exposure_step`, `gain_ramp` and `sensor_noise` make sequences with nobody in them that a
motion detector must stay quiet on, deterministic by seed.
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from smartcam.camera.luma import to_lores

PACKAGE = "opencv-doc"
MEMBER = "usr/share/doc/opencv-doc/examples/data/vtest.avi"
NAME = "vtest.avi"
FPS = 10.0  # vtest.avi's frame rate
LORES = (320, 240)


class FootageError(RuntimeError):
    """The footage could not be fetched; the message says what to install or check."""


def cache_dir() -> Path:
    root = os.environ.get("SMARTCAM_CACHE") or Path.home() / ".cache" / "smartcam"
    return Path(root) / "footage"


def footage_path() -> Path:
    """vtest.avi in the cache, fetched from Debian's opencv-doc package on first use."""
    path = cache_dir() / NAME
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
            f"need apt-get and dpkg-deb to fetch {NAME} from Debian's {PACKAGE} package; "
            f"on a non-Debian system copy {NAME} from OpenCV's samples/data to {path}"
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
    """Stream the package's data tar and copy the one member out, atomically."""
    unpack = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    assert unpack.stdout is not None
    try:
        with tarfile.open(fileobj=unpack.stdout, mode="r|") as tar:
            for member in tar:
                if member.name.lstrip("./") == MEMBER and member.isfile():
                    source = tar.extractfile(member)
                    assert source is not None
                    _write_atomic(path, functools.partial(shutil.copyfileobj, source))
                    return
    finally:
        unpack.stdout.close()
        unpack.kill()
        unpack.wait()
    raise FootageError(f"{deb.name} has no {MEMBER}")


def _write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@functools.lru_cache(maxsize=2)
def frames(width: int = LORES[0], height: int = LORES[1]) -> np.ndarray:
    """Every frame of the footage as (N, height, width) uint8 luma, scaled like motion-scan."""
    with av.open(str(footage_path())) as container:
        stream = container.streams.video[0]
        out = [
            to_lores(frame.to_ndarray(format="gray"), width, height)
            for frame in container.decode(stream)
        ]
    stack = np.stack(out)
    stack.flags.writeable = False
    return stack


def plate() -> np.ndarray:
    """The person-free background at 320x240: the temporal median of every frame (cached)."""
    path = cache_dir() / f"vtest_plate_{LORES[0]}x{LORES[1]}.npy"
    if path.exists():
        return np.load(path)
    median = np.median(frames(), axis=0).round().astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, lambda out: np.save(out, median))
    return median


def synthesize(
    base: np.ndarray, count: int, gain: Callable[[float], float], noise: float, seed: int
) -> np.ndarray:
    """(count, H, W) uint8 frames at FPS: base x gain(t) plus fresh Gaussian noise per frame."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, *base.shape), np.uint8)
    level = base.astype(np.float32)
    for i in range(count):
        frame = level * np.float32(gain(i / FPS))
        if noise > 0:
            frame += rng.normal(0.0, noise, base.shape).astype(np.float32)
        np.clip(frame + 0.5, 0, 255, out=frame)
        out[i] = frame
    return out


def exposure_step(
    base: np.ndarray, factor: float = 1.4, at: float = 4.0, seconds: float = 10.0, seed: int = 1
) -> np.ndarray:
    """Brightness jumps by `factor` between two frames at `at` seconds (sigma 2 noise)."""
    return synthesize(base, int(seconds * FPS), lambda t: factor if t >= at else 1.0, 2.0, seed)


def gain_ramp(
    base: np.ndarray, gain: float = 1.4, start: float = 2.0, ramp: float = 10.0, seed: int = 2
) -> np.ndarray:
    """Brightness ramps smoothly to `gain` over `ramp` seconds, then holds (sigma 2 noise)."""

    def at(t: float) -> float:
        return 1.0 + (gain - 1.0) * min(max((t - start) / ramp, 0.0), 1.0)

    return synthesize(base, int((start + ramp + 4.0) * FPS), at, 2.0, seed)


def sensor_noise(
    base: np.ndarray, sigma: float = 3.0, seconds: float = 20.0, seed: int = 3
) -> np.ndarray:
    """Constant light, fresh Gaussian noise of `sigma` gray levels in every frame."""
    return synthesize(base, int(seconds * FPS), lambda t: 1.0, sigma, seed)
