"""Motion masks: polygons in percent of the frame, rasterised once to a boolean pixel array."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Point = tuple[float, float]
Polygon = tuple[Point, ...]


def rasterise(polygons: Sequence[Polygon], width: int, height: int, step: int = 1) -> np.ndarray:
    """True where a sampled pixel's centre lies inside any polygon (the pixels to ignore).

    Points are (x, y) in percent of a `width` x `height` frame, 0..100 from the top left corner.
    The result has the shape of `frame[::step, ::step]`: row j, column i is the frame pixel
    (i * step, j * step). Inside means the even-odd rule, so a polygon may be concave.
    """
    xs = (np.arange(0, width, step, dtype=np.float64) + 0.5) * (100.0 / width)
    ys = (np.arange(0, height, step, dtype=np.float64) + 0.5) * (100.0 / height)
    masked = np.zeros((ys.size, xs.size), dtype=bool)
    for polygon in polygons:
        masked |= _inside(polygon, xs, ys)
    return masked


def _inside(polygon: Polygon, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Even-odd test of every (x, y) grid point against one polygon, one edge at a time."""
    inside = np.zeros((ys.size, xs.size), dtype=bool)
    if len(polygon) < 3:
        return inside
    y = ys[:, None]
    x = xs[None, :]
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if y0 == y1:
            continue  # a horizontal edge never crosses a horizontal ray
        spans = (y0 > y) != (y1 > y)  # (rows, 1): the edge straddles this row's ray
        cross_x = x0 + (y - y0) * ((x1 - x0) / (y1 - y0))  # (rows, 1)
        inside ^= spans & (x < cross_x)
    return inside
