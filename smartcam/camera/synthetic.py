"""A simulated camera: a generated yard with scripted walkers, light steps, gain ramps and noise.

Deterministic by seed, so tests can rely on when someone walks by. Each frame carries its capture
time drawn along its top edge (clockstamp.py), for measuring the live view's latency. Scenes:
  walkers  someone crosses every 20 s (from 4 s on), plus light changes a detector must ignore
  empty    nobody ever comes; only light steps, gain ramps and sensor noise
  lights   nobody comes; the light changes often (a porch lamp, clouds)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smartcam.camera import clockstamp
from smartcam.camera.encoder import H264Encoder
from smartcam.camera.frames import Capture, Packet, SourceInfo
from smartcam.camera.pacing import Pacer

SCENES = ("walkers", "empty", "lights")
NOISE_FRAMES = 4  # a small bank of fresh-looking sensor noise, cycled


@dataclass(frozen=True)
class Walker:
    start: float  # scene seconds when the walker enters on the left
    duration: float  # seconds to cross the frame
    row: float  # feet position as a fraction of the frame height
    size: float  # height as a fraction of the frame height


@dataclass(frozen=True)
class LightStep:
    at: float
    gain: float  # multiplies the brightness from `at` on


@dataclass(frozen=True)
class GainRamp:
    start: float
    duration: float
    gain: float  # reached at the end of the ramp, then held


@dataclass(frozen=True)
class Script:
    walkers: tuple[Walker, ...] = ()
    lights: tuple[LightStep, ...] = ()
    ramps: tuple[GainRamp, ...] = ()
    period: float = 0.0  # the script repeats after this many seconds; 0 plays once
    noise: float = 2.0  # sensor noise, standard deviation in gray levels

    def gain(self, s: float) -> float:
        g = 1.0
        for step in self.lights:
            if s >= step.at:
                g *= step.gain
        for ramp in self.ramps:
            done = min(max((s - ramp.start) / ramp.duration, 0.0), 1.0)
            g *= 1.0 + (ramp.gain - 1.0) * done
        return g

    def walkers_at(self, s: float) -> list[tuple[Walker, float]]:
        """The walkers in view at scene second s, each with how far across it is (0..1)."""
        return [
            (w, (s - w.start) / w.duration) for w in self.walkers if 0 <= s - w.start < w.duration
        ]


def scene_script(scene: str, seed: int) -> Script:
    rng = np.random.default_rng(seed)
    if scene == "walkers":
        walkers = tuple(
            Walker(start, 6.0, float(rng.uniform(0.7, 0.9)), float(rng.uniform(0.35, 0.5)))
            for start in (4.0, 24.0, 44.0)
        )
        lights = (LightStep(32.0, 1.35), LightStep(52.0, 1 / 1.35))
        return Script(walkers, lights, (GainRamp(10.0, 10.0, 1.15),), period=60.0)
    if scene == "empty":
        lights = (LightStep(15.0, 1.4), LightStep(40.0, 1 / 1.4))
        return Script((), lights, (GainRamp(20.0, 15.0, 1.2),), period=60.0)
    if scene == "lights":
        steps = tuple(LightStep(2.0 + 3.0 * i, 1.5 if i % 2 == 0 else 1 / 1.5) for i in range(10))
        return Script((), steps, (), period=30.0)
    raise ValueError(f"unknown synthetic scene {scene!r}; known: {', '.join(SCENES)}")


def _yard(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A static, textured background: sky, a horizon of boxes, and ground."""
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    y = np.where(rows < 0.4, 170 - 60 * rows, 90 + 40 * rows) * np.ones((1, width), np.float32)
    for _ in range(6):  # buildings and bushes on the horizon
        x0, w = int(rng.integers(0, width)), int(rng.integers(width // 12, width // 4))
        top = int(rng.uniform(0.15, 0.35) * height)
        y[top : int(0.45 * height), x0 : x0 + w] = rng.uniform(60, 200)
    y += rng.normal(0, 6, (height, width)).astype(np.float32)  # texture
    return np.clip(y, 16, 235).astype(np.uint8)


class SyntheticSource:
    """A Source whose frames are generated, encoded with libx264."""

    def __init__(
        self,
        info: SourceInfo,
        bitrate: int,
        scene: str = "walkers",
        seed: int = 0,
        pace: bool = True,
        script: Script | None = None,
    ):
        self.info = info
        self.script = script or scene_script(scene, seed)
        self.want_main = False
        self.problem: str | None = None
        rng = np.random.default_rng(seed)
        w, h = info.width, info.height
        self._yard = _yard(w, h, rng)
        noise = rng.standard_normal((NOISE_FRAMES, h, w), dtype=np.float32)  # float32: less RAM
        self._noise = (noise * self.script.noise).astype(np.int8)
        self._chroma = np.full((h // 2, w), 128, np.uint8)  # U and V planes, gray
        self._rows = np.linspace(0, h - 1, info.lores_height).astype(np.intp)
        self._cols = np.linspace(0, w - 1, info.lores_width).astype(np.intp)
        self._encoder = H264Encoder(w, h, info.fps, bitrate)
        self._pacer = Pacer(info.fps, pace)

    def scene_time(self, t: float) -> float:
        s = t - self._pacer.start
        return s % self.script.period if self.script.period else s

    @property
    def epoch(self) -> float:
        return self._pacer.epoch

    def read(self, timeout: float = 0.0) -> Capture:
        index = self._pacer.frame
        t = self._pacer.next()
        y = self.render_luma(self.scene_time(t), index)
        lores = y[self._rows[:, None], self._cols]
        clockstamp.draw(y, round((t + self.epoch) * 1000))
        yuv = np.concatenate((y, self._chroma))
        packets = self._encoder.encode(yuv, t)
        return Capture(t, lores, packets, yuv if self.want_main else None)

    def render_luma(self, s: float, index: int = 0) -> np.ndarray:
        lut = np.clip(np.arange(256) * self.script.gain(s), 0, 255).astype(np.uint8)
        y = lut[self._yard].astype(np.int16)
        y += self._noise[index % NOISE_FRAMES]
        for walker, progress in self.script.walkers_at(s):
            self._draw_walker(y, walker, progress)
        return np.clip(y, 0, 255).astype(np.uint8)

    def _draw_walker(self, y: np.ndarray, walker: Walker, progress: float) -> None:
        h, w = y.shape
        tall = int(walker.size * h)
        wide = max(2, tall // 3)
        feet = int(walker.row * h)
        x = int(progress * (w + wide)) - wide
        top, left = max(0, feet - tall), max(0, x)
        y[top:feet, left : max(0, x + wide)] = 40  # body: a dark coat
        head = tall // 6
        y[max(0, top - head) : top, max(0, x + wide // 4) : max(0, x + 3 * wide // 4)] = 200

    def close(self) -> list[Packet]:
        return self._encoder.flush()
