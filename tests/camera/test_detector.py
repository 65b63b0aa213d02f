"""MotionDetector on real footage (vtest.avi), on person-free variations of its background
plate (exposure steps, gain ramps, sensor noise), and on a synthetic moving square."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcam.camera.detector import (
    SNAPSHOT_SPACING,
    SNAPSHOTS,
    WARMUP,
    HeatMap,
    MotionDetector,
    MotionResult,
    MotionSettings,
)
from smartcam.camera.luma import to_lores
from smartcam.camera.mask import rasterise
from smartcam.camera.regions import regions
from smartcam.errors import ConfigError
from tests import vtest as footage

W, H = footage.LORES
FPS = footage.FPS
SETTLED = int(WARMUP * FPS) + MotionSettings().min_frames - 1  # first that may be motion


def run(frames: np.ndarray, motion: MotionSettings | None = None) -> list[MotionResult]:
    detector = MotionDetector(motion or MotionSettings(), frames.shape[2], frames.shape[1], FPS)
    return [detector.update(frame, i / FPS) for i, frame in enumerate(frames)]


def square_scene(
    count: int = 60, start: int = 20, stop: int | None = None, speed: int = 3, seed: int = 0
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A flat gray yard with sigma 2 noise; from `start` a bright 24x24 square moves right by
    `speed` pixels a frame along y 20..44 from x 20 (by default staying left of x 164).
    Returns the frames and the square's boxes."""
    rng = np.random.default_rng(seed)
    frames = np.empty((count, H, W), np.uint8)
    where: list[tuple[int, int, int, int]] = []
    for i in range(count):
        frame = np.float32(100) + rng.normal(0, 2.0, (H, W)).astype(np.float32)
        box = (0, 0, 0, 0)
        if start <= i < (stop if stop is not None else count):
            x = 20 + speed * (i - start)
            box = (x, 20, 24, 24)
            frame[20:44, x : x + 24] += 60
        where.append(box)
        frames[i] = np.clip(frame + 0.5, 0, 255)
    return frames, where


TOP_LEFT = ((0.0, 0.0), (60.0, 0.0), (60.0, 30.0), (0.0, 30.0))  # covers the square's path


@pytest.fixture(scope="module")
def vtest() -> np.ndarray:
    return footage.frames()


@pytest.fixture(scope="module")
def plate() -> np.ndarray:
    return footage.plate()


@pytest.fixture(scope="module")
def vtest_results(vtest: np.ndarray) -> list[MotionResult]:
    return run(vtest)


# Real footage: people walk through every frame of vtest.avi.


def test_real_footage_has_motion_in_nearly_every_frame(vtest_results: list[MotionResult]) -> None:
    settled = vtest_results[SETTLED:]
    assert np.mean([r.motion for r in settled]) >= 0.9
    assert not any(r.lightswitch for r in vtest_results)
    assert not any(r.motion for r in vtest_results[:SETTLED])  # warm-up and min_frames


def test_real_footage_boxes_sit_on_the_people(
    vtest: np.ndarray, plate: np.ndarray, vtest_results: list[MotionResult]
) -> None:
    """A pixel that differs from the person-free plate is (part of) a person."""
    centred = inside = total = 0
    coverage = []
    for frame, result in zip(vtest[SETTLED:], vtest_results[SETTLED:], strict=True):
        person = np.abs(frame.astype(np.int16) - plate) > 30
        covered = np.zeros_like(person)
        for x, y, w, h in result.boxes:
            assert 0 <= x < x + w <= W and 0 <= y < y + h <= H
            cx, cy = x + w // 2, y + h // 2
            centred += person[max(cy - 8, 0) : cy + 9, max(cx - 8, 0) : cx + 9].any()
            inside += person[y : y + h, x : x + w].any()
            covered[y : y + h, x : x + w] = True
            total += 1
        if person.any():
            coverage.append((person & covered).sum() / person.sum())
    assert total >= 3 * len(coverage)  # several people, several boxes a frame
    assert centred / total >= 0.85
    assert inside / total >= 0.85
    assert np.mean(coverage) >= 0.85


def test_real_footage_heat_map_is_where_people_walk(
    vtest: np.ndarray, plate: np.ndarray, vtest_results: list[MotionResult]
) -> None:
    heat = HeatMap()
    for result in vtest_results:
        heat.add(result)
    cells = np.array(heat.as_list())
    assert cells.shape == (16, 16) and cells.max() == 255 and cells.min() >= 0
    busy = (np.abs(vtest.astype(np.int16) - plate) > 30).mean(axis=0)  # (H, W) share of time
    truth = busy.reshape(16, H // 16, 16, W // 16).mean(axis=(1, 3))
    hot = cells >= 64
    assert truth[hot].mean() > 4 * truth[~hot].mean()
    assert cells[truth < truth.max() / 50].max() < 64  # never-visited cells stay cool


# The person-free plate under light changes and noise: never an event.


@pytest.mark.parametrize("factor", [1.4, 0.6])
def test_exposure_step_rebases_and_raises_nothing(plate: np.ndarray, factor: float) -> None:
    frames = footage.exposure_step(plate, factor=factor, at=4.0)
    results = run(frames)
    step = int(4.0 * FPS)
    assert [i for i, r in enumerate(results) if r.lightswitch] == [step]
    assert results[step].score > MotionSettings().lightswitch
    assert not any(r.motion for r in results)
    assert max(r.score for r in results[step + 1 :]) < MotionSettings().min_area


@pytest.mark.parametrize("gain", [1.4, 0.6])
def test_slow_gain_ramp_raises_nothing(plate: np.ndarray, gain: float) -> None:
    results = run(footage.gain_ramp(plate, gain=gain, ramp=10.0))
    assert not any(r.motion or r.lightswitch for r in results)
    assert max(r.score for r in results) < MotionSettings().min_area


def test_sensor_noise_raises_nothing(plate: np.ndarray) -> None:
    results = run(footage.sensor_noise(plate, sigma=3.0, seconds=20.0))
    assert not any(r.motion or r.lightswitch for r in results)
    assert max(r.score for r in results[SETTLED:]) < 0.1 * MotionSettings().min_area


# A synthetic moving square.


def test_moving_square_is_detected_and_boxed() -> None:
    frames, where = square_scene()
    results = run(frames)
    assert not any(r.motion for r in results[:20])
    assert all(r.motion for r in results[22:])
    for result, (x, y, w, h) in zip(results[22:], where[22:], strict=True):
        assert len(result.boxes) == 1
        bx, by, bw, bh = result.boxes[0]
        assert bx <= x + w // 2 < bx + bw and by <= y + h // 2 < by + bh  # holds the centre
        assert bx >= x - 12 and bx + bw <= x + w + 12 and by >= y - 12 and by + bh <= y + h + 12
    heat = results[40].heat16
    assert heat.shape == (16, 16) and heat.dtype == np.float32
    assert 0 <= heat.min() and heat.max() <= 1
    assert heat[1:3].sum() > 0.9 * heat.sum()  # rows 15..45 hold the square


def test_the_same_area_scattered_in_small_patches_is_not_motion() -> None:
    """Leaves in the wind: 40 patches of 4x4 flicker in place, 0.83 % of the frame in all,
    more than min_area but none of it in one place; the same area as one square is motion."""
    rng = np.random.default_rng(5)
    ys, xs = rng.integers(0, H // 8, 40) * 8, rng.integers(0, W // 8, 40) * 8  # apart
    scattered, square = (np.empty((60, H, W), np.uint8) for _ in range(2))
    for i in range(60):
        flat = np.float32(100) + rng.normal(0, 2.0, (H, W)).astype(np.float32)
        leaves, thing = flat.copy(), flat.copy()
        if i >= 20:
            for y, x in zip(ys, xs, strict=True):
                leaves[y : y + 4, x : x + 4] += 50 if i % 2 else -50
            thing[20:46, 20 + i : 45 + i] += 50 if i % 2 else -50  # 26x25: the same 650 px
        scattered[i], square[i] = (np.clip(f + 0.5, 0, 255) for f in (leaves, thing))
    leaves_results = run(scattered)
    assert min(r.score for r in leaves_results[25:]) > MotionSettings().min_area
    assert not any(r.motion for r in leaves_results)
    assert all(r.motion for r in run(square)[25:])


def test_motion_inside_a_mask_raises_nothing() -> None:
    frames, _ = square_scene()
    masked = run(frames, MotionSettings(mask=(TOP_LEFT,)))
    assert not any(r.motion for r in masked)
    assert max(r.score for r in masked) == 0
    assert any(r.motion for r in run(frames))  # the same scene without the mask
    elsewhere = ((0.0, 60.0), (100.0, 60.0), (100.0, 100.0), (0.0, 100.0))  # the bottom
    assert any(r.motion for r in run(frames, MotionSettings(mask=(elsewhere,))))


@pytest.mark.parametrize("min_frames", [1, 3, 5])
def test_min_frames_consecutive_frames_before_motion(min_frames: int) -> None:
    frames, _ = square_scene(start=20)
    results = run(frames, MotionSettings(min_frames=min_frames))
    over = [i for i, r in enumerate(results) if r.score >= MotionSettings().min_area]
    first = next(i for i, r in enumerate(results) if r.motion)
    assert over[0] == 20
    assert first == 20 + min_frames - 1


def test_a_blip_shorter_than_min_frames_raises_nothing() -> None:
    frames, _ = square_scene(start=20, stop=22)  # two frames
    results = run(frames, MotionSettings(min_frames=3))
    assert sum(r.score >= 0.5 for r in results) == 2
    assert not any(r.motion for r in results)


def test_set_settings_takes_effect_and_keeps_the_background() -> None:
    frames, _ = square_scene(count=100, start=20, speed=1)  # inside TOP_LEFT throughout
    detector = MotionDetector(MotionSettings(min_area=50.0), W, H, FPS)
    results = [detector.update(frame, i / FPS) for i, frame in enumerate(frames[:40])]
    assert not any(r.motion for r in results)  # 0.75 % of the frame is not 50 %
    detector.set_settings(MotionSettings())
    later = [detector.update(frame, (40 + i) / FPS) for i, frame in enumerate(frames[40:60])]
    assert [r.motion for r in later[:3]] == [False, False, True]  # min_frames, no new warm-up
    detector.set_settings(MotionSettings(mask=(TOP_LEFT,)))  # a new mask starts over
    masked = [detector.update(frame, (60 + i) / FPS) for i, frame in enumerate(frames[60:])]
    assert not any(r.motion for r in masked) and max(r.score for r in masked) == 0
    assert detector.settings.mask == (TOP_LEFT,)


def test_disabled_detector_reports_nothing() -> None:
    frames, _ = square_scene()
    results = run(frames, MotionSettings(enabled=False))
    assert all(r.score == 0 and not r.motion and not r.boxes for r in results)


def test_the_first_background_is_the_median_of_the_snapshots() -> None:
    """The snapshots are kept sorted pixel by pixel rather than handed to np.median."""
    rng = np.random.default_rng(7)
    plate = rng.integers(60, 200, (48, 64))
    detector = MotionDetector(MotionSettings(subsample=1), 64, 48, 1 / SNAPSHOT_SPACING)
    kept = []
    for i in range(SNAPSHOTS):
        kept.append((plate + rng.integers(-6, 7, plate.shape)).astype(np.uint8))
        detector.update(kept[-1], i * SNAPSHOT_SPACING)
        median = np.median(np.array(kept, np.float32), axis=0)
        np.testing.assert_array_equal(detector._background, median)


@pytest.mark.parametrize("step", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("width", [64, 60])
def test_every_subsample_analyses_every_nth_pixel(step: int, width: int) -> None:
    buffer = np.random.default_rng(step).integers(0, 256, (48, 72), np.uint8)
    luma = buffer[:, :width]  # rows padded, as a camera's buffer can be
    detector = MotionDetector(MotionSettings(subsample=step), width, 48, FPS)
    np.testing.assert_array_equal(detector._decimated(luma), luma[::step, ::step])


def test_wrong_frame_size_is_refused() -> None:
    detector = MotionDetector(MotionSettings(), W, H, FPS)
    with pytest.raises(ValueError, match="320x240"):
        detector.update(np.zeros((H // 2, W // 2), np.uint8), 0.0)


# Settings.


@pytest.mark.parametrize(
    "bad",
    [
        {"min_frames": 0},
        {"subsample": 0},
        {"background_time": 0.0},
        {"lightswitch": 0.0},
        {"mask": (((0, 0), (50, 0)),)},
        {"mask": (((0, 0), (150, 0), (50, 50)),)},
    ],
)
def test_bad_settings_are_a_config_error(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=next(iter(bad))):
        MotionSettings(**bad)  # type: ignore[arg-type]


def test_settings_from_a_config_section() -> None:
    class Section:
        def as_dict(self) -> dict[str, object]:
            return {"min_area": 1.5, "mask": [[[0, 0], [10, 0], [10, 10]]]}

    motion = MotionSettings.from_section(Section())
    assert motion.min_area == 1.5 and motion.subsample == 2
    assert motion.mask == (((0.0, 0.0), (10.0, 0.0), (10.0, 10.0)),)
    hash(motion)  # frozen and hashable, mask included


# Helpers: masks, regions, lores scaling.


def test_rasterise_masks_pixel_centres_inside_the_polygon() -> None:
    square = ((25.0, 25.0), (75.0, 25.0), (75.0, 75.0), (25.0, 75.0))
    masked = rasterise([square], 100, 100)
    assert masked.sum() == 50 * 50 and masked[25:75, 25:75].all()
    ell = ((0.0, 0.0), (50.0, 0.0), (50.0, 50.0), (100.0, 50.0), (100.0, 100.0), (0.0, 100.0))
    concave = rasterise([ell], 100, 100)
    assert concave[10, 10] and concave[90, 90] and not concave[10, 90]
    assert rasterise([square], 100, 100, step=2).shape == (50, 50)


def _reference_regions(grid: np.ndarray) -> list[tuple[int, int, int, int]]:
    """8-connected components by breadth-first search, the slow obvious way."""
    seen = np.zeros_like(grid)
    found = []
    for start in zip(*np.nonzero(grid), strict=True):
        if seen[start]:
            continue
        seen[start] = True
        queue, cells = deque([start]), []
        while queue:
            r, c = queue.popleft()
            cells.append((r, c))
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    n = (r + dr, c + dc)
                    inside = 0 <= n[0] < grid.shape[0] and 0 <= n[1] < grid.shape[1]
                    if inside and grid[n] and not seen[n]:
                        seen[n] = True
                        queue.append(n)
        rows, cols = zip(*cells, strict=True)
        found.append((min(rows), min(cols), max(rows), max(cols)))
    return sorted(found)


@given(st.integers(1, 12), st.integers(1, 40), st.integers(0, 2**32 - 1), st.floats(0.05, 0.7))
@settings(max_examples=200, deadline=None)
def test_regions_match_a_breadth_first_search(rows: int, cols: int, seed: int, p: float) -> None:
    grid = np.random.default_rng(seed).random((rows, cols)) < p
    packed = np.zeros((rows, cols + 1), bool)
    packed[:, :cols] = grid
    assert sorted(regions(packed)) == _reference_regions(grid)
    first = int(np.random.default_rng(seed).integers(rows * cols))
    if grid.flat[first]:  # its group comes first
        r0, c0, r1, c1 = next(regions(packed, first))
        assert r0 <= first // cols <= r1 and c0 <= first % cols <= c1


def test_regions_join_diagonal_neighbours_only() -> None:
    grid = np.array([[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 0, 0], [1, 1, 0, 1]], bool)
    packed = np.zeros((4, 5), bool)
    packed[:, :4] = grid
    assert sorted(regions(packed)) == [(0, 0, 1, 1), (0, 3, 1, 3), (3, 0, 3, 1), (3, 3, 3, 3)]


def test_to_lores_averages_areas() -> None:
    gray = np.random.default_rng(5).integers(0, 256, (480, 640), dtype=np.uint8)
    half = gray.astype(np.float32).reshape(240, 2, 320, 2).mean(axis=(1, 3))
    assert np.abs(to_lores(gray, 320, 240).astype(np.float32) - half).max() <= 0.5
    odd = to_lores(gray, 250, 190)  # fractional spans
    assert odd.shape == (190, 250) and abs(float(odd.mean()) - float(gray.mean())) < 1
