"""Motion detection on the lores luma plane: numpy only, tens of microseconds a frame.

Per frame, on `luma[::subsample, ::subsample]` (sliced before any float work):
  1. brightness: the frame is compared with the background times the global gain between them
     (measured every fourth frame on pixels neither one clips, and in between following the
     mean brightness), clipped at 255 the way a sensor clips. The gain follows slow drifts
     (clouds, AGC ramps) but is held through a sudden jump, so a jump shows up in step 4 and
     re-bases instead of being explained away;
  2. difference to the background, gated per pixel at max(min_diff, noise_factor * noise), where
     noise is a running mean of |difference| (learned on every pixel of an idle frame, and on
     the pixels that did not count in a busy one); masked pixels have an infinite gate, so
     masks cost nothing per frame;
  3. despeckle: a changed pixel counts only if a vertical and a horizontal neighbour changed too;
  4. score = percent of the unmasked analysed pixels that count; above `lightswitch` the whole
     scene changed at once (a lamp, an exposure step): the background is re-based, no alarm;
  5. motion once the score reached min_area, ONE_PLACE of it in one connected region of busy
     cells (step 7), on min_frames consecutive frames (never in the first WARMUP second, while
     the background and the noise are first learned). Swaying leaves, rain and snow change as
     much of a frame as a person does, but in scattered patches;
  6. the background starts as the per-pixel median of frames kept every half second over the
     first seconds (after a start or a re-base), so people walking by leave no ghost. Then it
     blends toward every second frame with time constant background_time, every pixel's step
     clipped at its gate: passers-by barely mark it, while something that stays (a parked car) is
     absorbed within about (its contrast / gate) x background_time;
  7. changed pixels are counted per cell of a grid of at most 32x32 cells; connected groups of
     busy cells become the boxes, and the cells spread over 16x16 give the heat map, both only
     when asked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from smartcam.camera.mask import Polygon, rasterise
from smartcam.camera.regions import HEAT, Box, CellGrid
from smartcam.errors import ConfigError

ONE_PLACE = 0.8  # of min_area must have changed in one connected region of busy cells
SUDDEN = 0.03  # a global brightness change above this share in one frame is not compensated
CLIPPED = 250.0  # pixels this bright may be clipped: left out when measuring the gain
WARMUP = 1.0  # seconds after the first frame in which nothing alarms
# What drifts slowly is not measured on every frame, and each on its own frame of a cycle of
# four so that no frame does it all: the noise on the first, the exact gain on the third (in
# between, the gain follows the mean brightness); the background blends on the second and fourth.
CYCLE = 4
NOISE_PHASE, GAIN_PHASE = 0, 2
SNAPSHOTS = 7  # frames kept after a (re)start; their median is the first background
SNAPSHOT_SPACING = 0.5  # seconds between them


class Section(Protocol):
    """What the config module hands over for [motion]."""

    def as_dict(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class MotionSettings:
    """[motion] in smartcam.conf; see the module docstring for how each one acts."""

    enabled: bool = True
    min_area: float = 0.5  # percent of the unmasked frame that must change
    noise_factor: float = 3.0  # a pixel changes above this many times its own noise level
    min_diff: int = 10  # gray-level floor under the noise gate
    min_frames: int = 3  # consecutive motion frames before an event starts
    lightswitch: float = 35.0  # percent changed at once that re-bases instead of alarming
    background_time: float = 5.0  # seconds, time constant of the background blend
    subsample: int = 2  # analyse every Nth pixel in each direction
    despeckle: bool = True
    mask: tuple[Polygon, ...] = ()  # areas to ignore; (x, y) points in percent of the frame

    def __post_init__(self) -> None:
        polygons = tuple(tuple((float(x), float(y)) for x, y in poly) for poly in self.mask)
        object.__setattr__(self, "mask", polygons)
        checks = [
            ("min_area", 0 <= self.min_area <= 100, "a percent from 0 to 100"),
            ("noise_factor", self.noise_factor > 0, "a number above 0"),
            ("min_diff", 0 <= self.min_diff <= 255, "a gray level from 0 to 255"),
            ("min_frames", self.min_frames >= 1, "a whole number from 1 up"),
            ("lightswitch", 0 < self.lightswitch <= 100, "a percent above 0, at most 100"),
            ("background_time", self.background_time > 0, "seconds above 0"),
            ("subsample", 1 <= self.subsample <= 16, "a whole number from 1 to 16"),
            ("mask", all(_polygon_ok(p) for p in polygons), "polygons of 3+ points in 0..100"),
        ]
        for name, ok, allowed in checks:
            if not ok:
                raise ConfigError(f"[motion] {name} = {getattr(self, name)!r}: expected {allowed}")

    @classmethod
    def from_section(cls, section: Section) -> MotionSettings:
        return cls(**section.as_dict())


def _polygon_ok(polygon: Polygon) -> bool:
    return len(polygon) >= 3 and all(0 <= v <= 100 for point in polygon for v in point)


@dataclass(frozen=True)
class MotionResult:
    """What the detector made of one frame.

    `boxes` and `heat16` are worked out from `cells` when first asked for: most frames, nobody
    asks. Feed results to a `HeatMap` to build a clip's heat map.
    """

    score: float  # percent of the unmasked analysed pixels that changed
    motion: bool  # score >= min_area, mostly in one place, on min_frames frames in a row
    lightswitch: bool = False  # the whole scene changed at once; the background was re-based
    cells: np.ndarray | None = field(default=None, repr=False, compare=False)  # per grid cell
    grid: CellGrid | None = field(default=None, repr=False, compare=False)

    @cached_property
    def boxes(self) -> list[Box]:
        """Connected changed regions, (x, y, w, h) in lores pixels."""
        if self.cells is None or self.grid is None:
            return []
        return [self.grid.box(group) for group in self.grid.groups(self.cells)]

    @property
    def heat16(self) -> np.ndarray:
        """(16, 16) float32: the share of each heat cell's unmasked pixels that changed."""
        if self.cells is None or self.grid is None:
            return np.zeros((HEAT, HEAT), np.float32)
        return self.grid.projection.heat(self.cells)


class HeatMap:
    """A clip's heat map: `add` each frame's result, `as_list` gives 16x16 ints 0..255.

    A cell's value is how much of it changed over the clip, relative to the hottest cell.
    """

    def __init__(self) -> None:
        self._sum = np.zeros((HEAT, HEAT), dtype=np.float32)
        self.frames = 0

    def add(self, result: MotionResult) -> None:
        self.frames += 1
        if result.cells is not None:
            self._sum += result.heat16

    def as_list(self) -> list[list[int]]:
        peak = float(self._sum.max())
        if peak <= 0:
            return [[0] * HEAT for _ in range(HEAT)]
        scaled: list[list[int]] = np.rint(self._sum * (255.0 / peak)).astype(int).tolist()
        return scaled


class MotionDetector:
    """Feed it every lores frame in order with its timestamp; see the module docstring."""

    def __init__(self, settings: MotionSettings, width: int, height: int, fps: float) -> None:
        if width < 8 or height < 8 or not fps > 0:
            raise ValueError(
                f"need a frame of at least 8x8 and fps > 0, got {width}x{height}@{fps}"
            )
        self.width, self.height, self.fps = width, height, fps
        self._settings = settings
        self._allocate()

    @property
    def settings(self) -> MotionSettings:
        return self._settings

    def set_settings(self, settings: MotionSettings) -> None:
        """Apply new settings; the learned background survives unless subsample or mask changed."""
        old, self._settings = self._settings, settings
        if (settings.subsample, settings.mask) != (old.subsample, old.mask):
            self._allocate()
            return
        self._floor = np.where(self._masked, np.float32(np.inf), np.float32(settings.min_diff))
        self._learn_gate(0.0)
        self._grid.pixels[:] = False  # the despeckle border must start out False

    def reset(self) -> None:
        """Forget the background; the next frame starts a new one."""
        self._frames = 0
        self._streak = 0
        self._noise_dt = 0.0
        self._blend_dt = 0.0

    def _allocate(self) -> None:
        s = self._settings
        step = s.subsample
        shape = len(range(0, self.height, step)), len(range(0, self.width, step))
        self._masked = rasterise(s.mask, self.width, self.height, step)
        unmasked = ~self._masked
        self._unmasked_count = max(int(unmasked.sum()), 1)
        self._weights = unmasked.astype(np.float32) / np.float32(self._unmasked_count)
        self._floor = np.where(self._masked, np.float32(np.inf), np.float32(s.min_diff))
        f32 = np.float32
        self._frame, self._background, self._expected, self._diff, self._absdiff, self._fit = (
            np.zeros(shape, f32) for _ in range(6)
        )
        self._noise = np.full(shape, s.min_diff / s.noise_factor, f32)
        self._snapshots = np.zeros((SNAPSHOTS, *shape), f32)
        self._gate = self._floor.copy()
        self._neg_gate = -self._gate
        self._picked = np.zeros(shape, np.uint8)
        self._changed = np.zeros(shape, bool)
        self._quiet = np.zeros(shape, f32)
        self._white = np.full(shape, 255.0, f32)  # arrays: numpy's min/max with a scalar are slow
        self._clipped = np.full(shape, CLIPPED, f32)
        self._horizontal = np.zeros(shape, bool)  # columns 0 and -1 stay False
        self._grid = CellGrid(unmasked, step, self.width, self.height)
        self._counted = self._grid.pixels[: shape[0], : shape[1]]  # rows 0 and -1 stay False
        self.reset()

    def update(self, luma: np.ndarray, t: float) -> MotionResult:
        """Analyse one (height, width) uint8 frame taken at t seconds."""
        s = self._settings
        if not s.enabled:
            return MotionResult(0.0, False)
        if luma.shape != (self.height, self.width):
            raise ValueError(f"expected a {self.width}x{self.height} frame, got {luma.shape}")
        f, bg, e = self._frame, self._background, self._expected
        np.copyto(f, self._decimated(luma))
        level = float(np.vdot(f, self._weights))  # mean brightness of the unmasked pixels
        if self._frames == 0:
            self._rebase(level, t)
            return MotionResult(0.0, False)
        if t > self._last_t:
            dt = t - self._last_t
        else:  # the clock went back (a looped file): carry on as if one frame passed
            dt = 1.0 / self.fps
            self._snapped_t = min(self._snapped_t, t)
        self._last_t = t
        self._frames += 1

        # 1. What the background looks like at the current global gain, clipped like a sensor.
        if abs(level - self._last_level) <= SUDDEN * max(self._last_level, 1.0):
            if self._frames % CYCLE == GAIN_PHASE:
                self._gain = self._fit_gain()
            elif self._last_level > 0:
                self._gain *= level / self._last_level
        self._last_level = level
        np.multiply(bg, np.float32(self._gain), out=e)
        if self._gain > 1.0:  # the background never exceeds 255, so only a gain can clip it
            np.minimum(e, self._white, out=e)

        # 2.-4. Gate, despeckle, score.
        d, a, changed, counted = self._diff, self._absdiff, self._changed, self._counted
        np.subtract(f, e, out=d)
        np.abs(d, out=a)
        np.greater(a, self._gate, out=changed)
        if s.despeckle:
            h = self._horizontal
            np.bitwise_or(changed[:-2], changed[2:], out=counted[1:-1])
            np.bitwise_or(changed[:, :-2], changed[:, 2:], out=h[:, 1:-1])
            np.bitwise_and(counted, h, out=counted)
            np.bitwise_and(counted, changed, out=counted)
        else:
            np.copyto(counted, changed)
        count = np.count_nonzero(counted)
        score = 100.0 * int(count) / self._unmasked_count
        if score > s.lightswitch:
            self._rebase(level, t)
            return MotionResult(score, False, lightswitch=True)

        # 5. Consecutive frames; nothing counts while the background is still being learned,
        # nor change scattered in small patches (leaves in the wind, rain, snow, noise): most
        # of min_area must be in one place, as a thing that moves is.
        cells = self._grid.count() if count else None
        warming = self._frames <= WARMUP * self.fps
        idle = score < s.min_area
        if not idle and not warming and cells is not None:
            idle = not self._in_one_place(cells)
        self._streak = 0 if idle or warming else self._streak + 1
        motion = self._streak >= s.min_frames

        # 6. Noise: learned everywhere on idle frames, else where nothing counted. Background:
        # bg += alpha * (clip(f - e, gate) + (e - bg)), i.e. the whole gain change but each
        # pixel's own change only up to its gate.
        self._noise_dt += dt
        if warming:  # a first estimate, fast and from every pixel
            self._learn_gate(max(self._share(dt), 1.0 / self._frames))
            self._noise_dt = 0.0
        elif self._frames % CYCLE == NOISE_PHASE:
            self._learn_gate(self._share(self._noise_dt), None if idle else counted)
            self._noise_dt = 0.0
        self._blend_dt += dt
        if self._frames % 2:  # the second and fourth frame of a cycle
            alpha = self._share(self._blend_dt)
            self._blend_dt = 0.0
            np.minimum(d, self._gate, out=d)
            np.maximum(d, self._neg_gate, out=d)
            np.add(d, e, out=d)
            np.subtract(d, bg, out=d)
            np.multiply(d, np.float32(alpha), out=d)
            np.add(bg, d, out=bg)
        if self._snapped < len(self._snapshots) and t - self._snapped_t >= SNAPSHOT_SPACING:
            self._snapshot(t)

        # 7. Cells; boxes and heat from them when asked for.
        return MotionResult(score, motion, False, cells, self._grid)

    def _share(self, seconds: float) -> float:
        """How far a blend with time constant background_time moves in `seconds`."""
        return -math.expm1(-seconds / self._settings.background_time)

    def _in_one_place(self, cells: np.ndarray) -> bool:
        """Whether ONE_PLACE of min_area changed in the cells one group spans. The busiest
        cell's group comes first: it usually settles it, and the rest are never searched."""
        need = ONE_PLACE * self._settings.min_area / 100.0 * self._unmasked_count
        groups = self._grid.groups(cells)
        return need <= 0 or any(self._grid.changed(cells, group) >= need for group in groups)

    def _decimated(self, luma: np.ndarray) -> np.ndarray:
        """luma[::step, ::step]. For a step of 2, 4 or 8 each run of step pixels is read as one
        little-endian integer and cut to its low byte, the first pixel: 4x faster than numpy's
        copy of a strided slice, which goes pixel by pixel."""
        step = self._settings.subsample
        if step in (2, 4, 8) and luma.strides[1] == 1 and self.width % step == 0:
            np.copyto(self._picked, luma.view(f"<u{step}")[::step], casting="unsafe")
            return self._picked
        return luma[::step, ::step]

    def _fit_gain(self) -> float:
        """Frame over background brightness, on unmasked pixels that neither one clips."""
        fit = self._fit
        np.maximum(self._frame, self._background, out=fit)
        np.less(fit, self._clipped, out=self._changed)
        np.multiply(self._weights, self._changed, out=fit)
        seen = float(np.vdot(self._background, fit))
        return float(np.vdot(self._frame, fit)) / seen if seen > 1e-3 else self._gain

    def _rebase(self, level: float, t: float) -> None:
        """Take this frame as it is (gain 1) as the background, and start new snapshots."""
        np.copyto(self._background, self._frame)
        self._last_level = level
        self._gain = 1.0
        self._last_t = t
        self._streak = 0
        self._frames = max(self._frames, 1)
        self._snapped = 0
        self._snapshot(t)

    def _snapshot(self, t: float) -> None:
        """Keep this frame; the background becomes the per-pixel median of those kept so far.

        Whatever moves through the first few seconds is in few snapshots, so the median drops
        it, where a blend would keep a fading ghost of it for many seconds. The snapshots are
        kept sorted pixel by pixel (the new one sinks into place), so the median is the middle
        one: a few dozen microseconds, where np.median takes a millisecond.
        """
        kept = self._snapshots[: self._snapped + 1]
        np.copyto(kept[-1], self._frame)
        higher = self._fit  # free between gain fits
        for lower, upper in zip(kept[-2::-1], kept[:0:-1], strict=True):
            np.maximum(lower, upper, out=higher)
            np.minimum(lower, upper, out=lower)
            np.copyto(upper, higher)
        self._snapped += 1
        self._snapped_t = t
        middle = self._snapped // 2
        if self._snapped % 2:
            np.copyto(self._background, kept[middle])
        else:
            np.add(kept[middle - 1], kept[middle], out=self._background)
            np.multiply(self._background, np.float32(0.5), out=self._background)

    def _learn_gate(self, alpha: float, busy: np.ndarray | None = None) -> None:
        """noise += alpha * (min(|diff|, gate) - noise) except where busy; then the gate."""
        if alpha > 0:
            a = self._absdiff
            np.minimum(a, self._gate, out=a)  # one outlier must not blow the noise up
            np.subtract(a, self._noise, out=a)
            np.multiply(a, np.float32(alpha), out=a)
            if busy is not None:
                np.multiply(a, np.logical_not(busy, out=self._quiet), out=a)
            np.add(self._noise, a, out=self._noise)
        np.multiply(self._noise, np.float32(self._settings.noise_factor), out=self._gate)
        np.maximum(self._gate, self._floor, out=self._gate)
        np.negative(self._gate, out=self._neg_gate)
