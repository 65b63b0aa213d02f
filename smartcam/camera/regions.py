"""Where a frame changed: changed pixels counted per cell of a coarse grid, boxes and heat.

The grid has at most 32x32 cells of whole pixels (the last row and column of cells may hang
over the frame edge), so counting is a handful of strided adds, with no per-pixel loop and no
BLAS call (OpenBLAS threads turn a 20 us product into milliseconds on a busy CPU).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

GRID = 32  # at most this many cells per side
HEAT = 16  # cells per side of the heat map (a clip sidecar's `heatmap`)
BOX_FILL = 0.15  # a cell joins a box when this share of its unmasked pixels changed

Box = tuple[int, int, int, int]  # x, y, w, h in lores pixels of the full frame
Group = tuple[int, int, int, int]  # row0, col0, row1, col1 (inclusive) of a group of busy cells


@dataclass(frozen=True)
class HeatProjection:
    """Spreads grid cells over the 16x16 heat cells (each cell's pixels taken as uniform)."""

    rows: np.ndarray  # (16, grid rows): share of each grid row inside each heat row
    cols: np.ndarray  # (grid cols, 16)
    scale: np.ndarray  # (16, 16): 1 / unmasked pixels of each heat cell, 0 where none

    def heat(self, cells: np.ndarray) -> np.ndarray:
        """(16, 16) float32: the share of each heat cell's unmasked pixels that changed."""
        spread: np.ndarray = self.rows @ cells.astype(np.float32) @ self.cols
        return spread * self.scale


class CellGrid:
    """Cells of cell_h x cell_w analysed pixels over an analysed frame of unmasked.shape.

    The detector writes the changed pixels into `pixels[:rows, :cols]` (the rest stays False),
    then `count()` sums them per cell and `groups(cells)` finds the connected busy cells.
    """

    def __init__(self, unmasked: np.ndarray, step: int, width: int, height: int) -> None:
        rows, cols = unmasked.shape
        self.cell_h, self.cell_w = -(-rows // GRID), -(-cols // GRID)
        self.shape = (-(-rows // self.cell_h), -(-cols // self.cell_w))
        grid_rows, grid_cols = self.shape
        self.pixels = np.zeros((grid_rows * self.cell_h, grid_cols * self.cell_w), bool)
        self._row_sums = np.zeros((grid_rows, self.pixels.shape[1]), np.uint16)
        self.pixels[:rows, :cols] = unmasked
        area = self.count().astype(np.float32)
        self.pixels[:] = False
        self._box_min = np.maximum(area * BOX_FILL, 1.0)
        heat_rows = _shares(grid_rows, self.cell_h, rows)
        heat_cols = _shares(grid_cols, self.cell_w, cols).T
        heat_area = heat_rows @ area @ heat_cols
        scale = np.divide(1.0, heat_area, out=np.zeros_like(heat_area), where=heat_area > 0.5)
        self.projection = HeatProjection(heat_rows, heat_cols, scale)
        self._xs = [min(c * self.cell_w * step, width) for c in range(grid_cols + 1)]
        self._ys = [min(r * self.cell_h * step, height) for r in range(grid_rows + 1)]
        self._packed = np.zeros((grid_rows, grid_cols + 1), bool)  # a False column parts rows

    def count(self) -> np.ndarray:
        """A fresh (grid rows, grid cols) uint16 array: True pixels per cell."""
        u8 = self.pixels.view(np.uint8)
        ch, cw, sums = self.cell_h, self.cell_w, self._row_sums
        if ch == 1:
            np.copyto(sums, u8)
        else:
            np.add(u8[0::ch], u8[1::ch], out=sums, dtype=np.uint16)
            for k in range(2, ch):
                np.add(sums, u8[k::ch], out=sums)
        if cw == 1:
            return sums.copy()
        cells = np.add(sums[:, 0::cw], sums[:, 1::cw])
        for k in range(2, cw):
            np.add(cells, sums[:, k::cw], out=cells)
        return cells

    def groups(self, cells: np.ndarray) -> Iterator[Group]:
        """The 8-connected groups of busy cells, each as the cells it spans; the busiest
        cell's group first."""
        packed = self._packed
        np.greater_equal(cells, self._box_min, out=packed[:, :-1])
        return regions(packed, int(cells.argmax()))

    def box(self, group: Group) -> Box:
        """A group's bounding box in lores pixels of the full frame."""
        r0, c0, r1, c1 = group
        x, y = self._xs[c0], self._ys[r0]
        return x, y, self._xs[c1 + 1] - x, self._ys[r1 + 1] - y

    @staticmethod
    def changed(cells: np.ndarray, group: Group) -> int:
        """The changed pixels in the cells a group spans."""
        r0, c0, r1, c1 = group
        return int(cells[r0 : r1 + 1, c0 : c1 + 1].sum())


def _shares(cells: int, size: int, extent: int) -> np.ndarray:
    """(16, cells): the share of cell i (pixels [i*size, (i+1)*size) cut at extent) in heat k."""
    start = np.arange(cells, dtype=np.float64) * size
    end = np.minimum(start + size, extent)
    bounds = np.linspace(0, extent, HEAT + 1)
    overlap = np.minimum(end[None, :], bounds[1:, None]) - np.maximum(
        start[None, :], bounds[:-1, None]
    )
    length = np.maximum(end - start, 1e-9)
    return (np.clip(overlap, 0, None) / length).astype(np.float32)


def regions(packed: np.ndarray, first: int = 0) -> Iterator[Group]:
    """(row0, col0, row1, col1) of each 8-connected group of True cells, inclusive; the group
    of cell `first` (row * cols + col) comes first if that cell is True.

    `packed` is a (rows, cols + 1) bool array whose last column is False. The grid becomes one
    Python integer (bit r * (cols + 1) + c), and each group is flood-filled with shifts: a few
    big-integer operations per step instead of a Python loop over cells. Groups are found as
    they are asked for, so a caller that stops early saves the rest.
    """
    stride = packed.shape[1]
    bits = int.from_bytes(np.packbits(packed, axis=None, bitorder="little").tobytes(), "little")
    row, col = divmod(first, stride - 1)
    return _flood(bits, stride, 1 << (row * stride + col))  # packed is read now, not later


def _flood(bits: int, stride: int, seed: int) -> Iterator[Group]:
    row_mask = (1 << (stride - 1)) - 1
    while bits:
        group, seed = (bits & seed) or (bits & -bits), 0
        while True:
            grown = group | (group << 1) | (group >> 1)
            grown = (grown | (grown << stride) | (grown >> stride)) & bits
            if grown == group:
                break
            group = grown
        bits ^= group
        r0 = ((group & -group).bit_length() - 1) // stride
        r1 = (group.bit_length() - 1) // stride
        columns, rest = 0, group >> (r0 * stride)
        while rest:
            columns |= rest & row_mask
            rest >>= stride
        yield r0, (columns & -columns).bit_length() - 1, r1, columns.bit_length() - 1
