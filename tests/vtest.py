"""Real footage for tests and benchmarks (fetched by smartcam.demo.footage) and what is made of it.

Beside vtest.avi goes the background plate: the temporal median of all frames at 320x240,
which has no people in it. From the plate, `exposure_step`, `gain_ramp` and `sensor_noise`
make sequences with nobody in them that a motion detector must stay quiet on, deterministic
by seed.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable

import av
import numpy as np

from smartcam.camera.luma import to_lores
from smartcam.demo.footage import FootageError, cache_dir, footage_path
from smartcam.files import write_atomic

__all__ = ["FootageError", "cache_dir", "footage_path", "frames", "plate"]
FPS = 10.0  # vtest.avi's frame rate
LORES = (320, 240)


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
    buffer = io.BytesIO()
    np.save(buffer, median)
    write_atomic(path, buffer.getvalue(), mode=0o644)
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
