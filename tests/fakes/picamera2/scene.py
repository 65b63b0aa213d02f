"""What the fake sensor sees (fake-only module): a bright square sliding over a gray background."""

from __future__ import annotations

import numpy as np

BACKGROUND, SQUARE, PADDING = 100, 230, 0


def scene(size, stride, phase):
    """One YUV420 buffer: a bright square sliding over gray, zero bytes in the row padding."""
    w, h = size
    cw, ch, cs = w // 2, h // 2, stride // 2
    flat = np.full(stride * h + 2 * cs * ch, PADDING, dtype=np.uint8)
    y = flat[: stride * h].reshape(h, stride)
    y[:, :w] = BACKGROUND
    side = max(2, h // 4)
    x0 = int(phase * (w - side))
    y0 = (h - side) // 2
    y[y0 : y0 + side, x0 : x0 + side] = SQUARE
    for plane in (flat[stride * h : stride * h + cs * ch], flat[stride * h + cs * ch :]):
        plane.reshape(ch, cs)[:, :cw] = 128
    return flat
