"""Scale a grayscale frame down to the lores size the motion detector sees, in numpy.

On the Pi the ISP delivers the lores plane directly; this is for recorded video (motion-scan,
tests, benchmarks). Area averaging, so fine detail does not alias into flicker the way
nearest-neighbour picking does.
"""

from __future__ import annotations

import functools

import numpy as np


def fit_size(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """The largest even (w, h) inside the box with the aspect ratio of width x height."""
    scale = min(box_width / width, box_height / height)
    w = max(2, int(round(width * scale / 2)) * 2)
    h = max(2, int(round(height * scale / 2)) * 2)
    return min(w, box_width), min(h, box_height)


def to_lores(gray: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-average a (H, W) uint8 frame to (height, width) uint8; upscaling repeats pixels."""
    if gray.shape == (height, width):
        return gray
    out = _area_axis(gray, height, axis=0)
    out = _area_axis(out, width, axis=1)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _area_axis(a: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """Mean of `a` over n_out equal (fractional) spans along axis, as float32.

    Each output is a weighted sum of the few inputs its span overlaps, so the work is a
    handful of gathers of output size rather than anything of input size squared.
    """
    index, weight = _spans(a.shape[axis], n_out)
    shape = [1, 1]
    shape[axis] = n_out
    out = np.zeros(a.shape[:axis] + (n_out,) + a.shape[axis + 1 :], dtype=np.float32)
    for idx, w in zip(index, weight, strict=True):
        out += np.take(a, idx, axis=axis) * w.reshape(shape)
    return out


@functools.lru_cache(maxsize=16)
def _spans(n_in: int, n_out: int) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """For output i: the k-th input it overlaps and that overlap's share of the span."""
    ratio = n_in / n_out
    start = np.arange(n_out) * ratio
    end = start + ratio
    first = np.floor(start).astype(np.intp)
    taps = int(np.ceil(ratio)) + 1
    index, weight = [], []
    for k in range(taps):
        j = first + k
        overlap = np.clip(np.minimum(j + 1, end) - np.maximum(j, start), 0.0, None)
        index.append(np.minimum(j, n_in - 1))
        weight.append((overlap / ratio).astype(np.float32))
    return tuple(index), tuple(weight)
