"""The synthetic camera's clock, drawn into its picture: a row of black and white blocks along
the top edge, the wall-clock millisecond the frame was captured, in binary.

Whoever decodes the picture again (a browser's video element, a JPEG of the live view, a clip)
reads the capture time back and knows the glass-to-glass latency. The blocks are big and
full-contrast so H.264 at any bitrate we use keeps every bit; motion detection never sees them
(the source takes its low-resolution frame before they are drawn).
"""

from __future__ import annotations

import numpy as np

BITS = 41  # milliseconds since 1970 fit in 41 bits until the year 2039; wraps safely after
DARK, LIGHT = 16, 235


def block_size(width: int) -> int:
    return max(8, width // 64) // 2 * 2


def draw(luma: np.ndarray, millis: int) -> None:
    """Draw the clock into a luma plane in place (most significant bit first)."""
    size = block_size(luma.shape[1])
    for bit in range(BITS):
        on = millis >> (BITS - 1 - bit) & 1
        luma[:size, bit * size : (bit + 1) * size] = LIGHT if on else DARK


def read(luma: np.ndarray) -> int:
    """The clock drawn into a decoded luma (or gray) picture of the same size."""
    size = block_size(luma.shape[1])
    centres = luma[size // 2, size // 2 : BITS * size : size].astype(int)
    return int(sum(1 << (BITS - 1 - i) for i, v in enumerate(centres) if v > 128))
