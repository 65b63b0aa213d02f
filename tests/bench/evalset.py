"""The labelled evaluation set for motion detection: real footage that Debian ships, and the hard
cases users of every NVR complain about made from it, every frame labelled motion or not.

Provenance (fetched and cached by smartcam.demo.footage, never committed): Debian 12's
`opencv-doc` 4.6.0+dfsg-12 (main), /usr/share/doc/opencv-doc/examples/data/, OpenCV's sample
data (BSD-licensed with OpenCV):
- vtest.avi: a plaza filmed from above, 768x576, 10 fps, 795 frames, people in every frame;
- tree.avi: a tree swaying in the wind, 320x240 Cinepak, 68 pictures in 29.6 s; a hand comes in
  from the top right at 23.1 s (the first picture it shows in, looked at frame by frame) and
  stays to the end.
Everything else is made from vtest's background plate (the temporal median of its frames: the
plaza with nobody on it) and its frames, deterministically by seed; such clips say
"synthetic" and how. Positives are only ever real people (vtest's) or the real hand (tree's):
a synthetic clip never invents an object, it only adds weather, light or shake around real
footage.

Labels are per frame: motion = something a user would want a clip of is moving in view. Light
changes, weather, a swaying tree and a shaking camera are not motion. `light_changes` are the
moments the light changes, from which the bench measures the time to a correct answer again.

HELD_OUT clips are never looked at while tuning the detector's defaults; the bench reports
them apart.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np

from smartcam.camera.luma import fit_size, to_lores
from smartcam.demo.footage import footage_path
from tests import vtest

LORES = (320, 240)
FPS = vtest.FPS  # the synthetic clips' rate, vtest's
HELD_OUT = ("snow", "headlights", "walkers_after_ir")


@dataclass(frozen=True)
class Clip:
    name: str
    provenance: str
    frames: np.ndarray  # (N, H, W) uint8 luma at LORES (aspect kept)
    times: np.ndarray  # (N,) seconds from the first frame
    motion: np.ndarray  # (N,) bool: the label
    light_changes: tuple[float, ...] = ()

    @property
    def fps(self) -> float:
        """Pictures per second as they come (tree.avi's are far apart)."""
        return (len(self.times) - 1) / float(self.times[-1]) if len(self.times) > 1 else FPS

    @property
    def held_out(self) -> bool:
        return self.name in HELD_OUT


def clips() -> list[Clip]:
    """Every clip of the set, in a fixed order."""
    return [make() for make in MAKERS]


# -- real footage --------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def decoded(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(frames at LORES, their times) of one of the fetched files, decoded as PyAV gives them."""
    with av.open(str(footage_path(name))) as container:
        stream = container.streams.video[0]
        size = fit_size(stream.codec_context.width, stream.codec_context.height, *LORES)
        pictures = [(float(f.time), to_lores(f.to_ndarray(format="gray"), *size))
                    for f in container.decode(stream)]
    times = np.array([t for t, _ in pictures]) - pictures[0][0]
    return np.stack([p for _, p in pictures]), times


def walkers() -> Clip:
    frames = vtest.frames()
    return Clip("walkers", "real: vtest.avi, people crossing a plaza", frames,
                np.arange(len(frames)) / FPS, np.ones(len(frames), bool))


def tree() -> Clip:
    frames, times = decoded("tree.avi")
    return Clip("tree", "real: tree.avi, a tree swaying in the wind, then a hand", frames, times,
                times >= HAND)


HAND = 23.1  # seconds: tree.avi's first picture with the hand in it


# -- made from vtest's plate and frames -----------------------------------------------------------

def still(name: str, how: str, frames: np.ndarray, light_changes: tuple[float, ...] = ()) -> Clip:
    """A clip with nothing in it a user wants recorded."""
    return Clip(name, f"synthetic: {how}", frames, np.arange(len(frames)) / FPS,
                np.zeros(len(frames), bool), light_changes)


def night_noise() -> Clip:
    return still("night_noise", "vtest's plate at a quarter of its light, sensor noise sigma 4",
                 vtest.synthesize(vtest.plate(), 200, lambda t: 0.25, 4.0, seed=11))


def exposure_step() -> Clip:
    return still("exposure_step", "vtest's plate, brightness x1.4 at once at 4 s",
                 vtest.exposure_step(vtest.plate()), (4.0,))


def clouds() -> Clip:
    return still("clouds", "vtest's plate, brightness drifting to x1.4 over 10 s",
                 vtest.gain_ramp(vtest.plate()))


def rain() -> Clip:
    return still("rain", "vtest's plate in rain: 250 bright streaks 9 px long a frame",
                 weather(vtest.plate(), 200, drops=250, length=9, speed=0, seed=12))


def snow() -> Clip:
    return still("snow", "vtest's plate in snow: 400 flakes of 2x2 px drifting down",
                 weather(vtest.plate(), 200, drops=400, length=2, speed=3, seed=13))


def shake() -> Clip:
    return still("shake", "vtest's plate on a pole in the wind: shifted up to 2 px a frame",
                 shaken(vtest.plate(), 200, pixels=2, seed=14))


def headlights() -> Clip:
    return still("headlights", "vtest's plate at night, a car's headlights sweep across the "
                 "scene from 4 s to 7 s (the car itself out of view)",
                 swept(vtest.plate(), 150, start=4.0, seconds=3.0, seed=15), (4.0,))


def ir_switch() -> Clip:
    return still("ir_switch", "vtest's plate at dusk, the IR filter switching at 5 s: "
                 "brightness x1.8 and contrast flattened at once",
                 infrared(vtest.plate(), 150, at=5.0, seed=16), (5.0,))


def walkers_in_rain() -> Clip:
    frames = vtest.frames()[:300]
    rained = weather(vtest.plate(), len(frames), drops=250, length=9, speed=0, seed=17,
                     over=frames)
    return Clip("walkers_in_rain", "synthetic: vtest's people in rain (as `rain`)", rained,
                np.arange(len(frames)) / FPS, np.ones(len(frames), bool))


def walkers_after_ir() -> Clip:
    """A quiet plaza at dusk, the IR switch, then people come (vtest's frames from 200 on)."""
    quiet = infrared(vtest.plate(), 100, at=3.0, seed=18)
    people = infrared(vtest.plate(), 150, at=0.0, seed=19, over=vtest.frames()[200:350])
    frames = np.concatenate([quiet, people])
    motion = np.arange(len(frames)) >= len(quiet)
    return Clip("walkers_after_ir", "synthetic: vtest's plate at dusk, the IR filter "
                "switching at 3 s, people from 10 s (vtest's frames 200-349 in IR)", frames,
                np.arange(len(frames)) / FPS, motion, (3.0,))


def empty_then_walkers() -> Clip:
    """Nobody for 10 s, then people: the start-up and the first event."""
    quiet = vtest.sensor_noise(vtest.plate(), seconds=10.0, seed=20)
    frames = np.concatenate([quiet, vtest.frames()[200:350]])
    return Clip("empty_then_walkers", "synthetic: vtest's plate for 10 s, then vtest's frames "
                "200-349", frames, np.arange(len(frames)) / FPS,
                np.arange(len(frames)) >= len(quiet))


MAKERS: tuple[Callable[[], Clip], ...] = (
    walkers, tree, empty_then_walkers, night_noise, exposure_step, clouds, rain, snow, shake,
    headlights, ir_switch, walkers_in_rain, walkers_after_ir)


# -- the effects ---------------------------------------------------------------------------------

def weather(base: np.ndarray, count: int, drops: int, length: int, speed: int, seed: int,
            over: np.ndarray | None = None) -> np.ndarray:
    """Rain (speed 0: new streaks every frame, `length` px long, slanted) or snow (flakes that
    drift down `speed` px a frame): bright particles over the base or over frames."""
    rng = np.random.default_rng(seed)
    h, w = base.shape
    out = np.empty((count, h, w), np.uint8)
    ys, xs = rng.integers(0, h, drops), rng.integers(0, w, drops)
    for i in range(count):
        frame = (over[i] if over is not None else noisy(base, rng)).astype(np.int16)
        if speed == 0:  # rain: every frame new streaks, one px right per two down
            ys, xs = rng.integers(0, h, drops), rng.integers(0, w, drops)
            for step in range(length):
                y, x = (ys + step) % h, (xs + step // 2) % w
                frame[y, x] += 40
        else:  # snow: flakes fall and wander
            ys = (ys + speed) % h
            xs = (xs + rng.integers(-1, 2, drops)) % w
            for dy in (0, 1):
                for dx in (0, 1):
                    frame[(ys + dy) % h, (xs + dx) % w] = 235
        out[i] = np.clip(frame, 0, 255)
    return out


def shaken(base: np.ndarray, count: int, pixels: int, seed: int) -> np.ndarray:
    """The base shifted by a random whole offset of up to `pixels` each frame (edges repeated)."""
    rng = np.random.default_rng(seed)
    padded = np.pad(base, pixels, mode="edge")
    h, w = base.shape
    out = np.empty((count, h, w), np.uint8)
    for i in range(count):
        dy, dx = rng.integers(0, 2 * pixels + 1, 2)
        out[i] = noisy(padded[dy:dy + h, dx:dx + w], rng)
    return out


def swept(base: np.ndarray, count: int, start: float, seconds: float, seed: int) -> np.ndarray:
    """The base at night, lit by a broad beam whose centre crosses from left to right."""
    rng = np.random.default_rng(seed)
    h, w = base.shape
    dark = base.astype(np.float32) * 0.2
    x = np.arange(w, dtype=np.float32)
    out = np.empty((count, h, w), np.uint8)
    for i in range(count):
        t = i / FPS
        frame = dark.copy()
        if start <= t <= start + seconds:
            centre = -w / 4 + (t - start) / seconds * (1.5 * w)
            beam = np.exp(-(((x - centre) / (w / 6)) ** 2))  # a soft-edged cone of light
            frame *= 1.0 + 3.0 * beam[None, :]
        out[i] = noisy(frame, rng)
    return out


def infrared(base: np.ndarray, count: int, at: float, seed: int,
             over: np.ndarray | None = None) -> np.ndarray:
    """Dusk (half the light) until `at`, then the IR picture: brighter, flatter contrast."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, *base.shape), np.uint8)
    for i in range(count):
        frame = (over[i] if over is not None else base).astype(np.float32)
        if i / FPS < at:
            frame = frame * 0.5
        else:
            frame = 90.0 + (frame - frame.mean()) * 0.6
        out[i] = noisy(frame, rng)
    return out


def noisy(frame: np.ndarray, rng: np.random.Generator, sigma: float = 2.0) -> np.ndarray:
    """The frame with fresh sensor noise, as uint8."""
    noise = rng.normal(0.0, sigma, frame.shape).astype(np.float32)
    return np.clip(frame.astype(np.float32) + noise + 0.5, 0, 255).astype(np.uint8)
