"""Rectangles on a PDF page, in points with the origin top-left."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce

import pymupdf


@dataclass(frozen=True)
class Box:
    """A rectangle in PDF points; unlike `pymupdf.Rect`, a rule of zero height still counts."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def union(self, other: Box) -> Box:
        return Box(
            min(self.x0, other.x0),
            min(self.y0, other.y0),
            max(self.x1, other.x1),
            max(self.y1, other.y1),
        )

    def overlap(self, other: Box) -> float:
        """The area both boxes cover."""
        width = min(self.x1, other.x1) - max(self.x0, other.x0)
        height = min(self.y1, other.y1) - max(self.y0, other.y0)
        return max(width, 0.0) * max(height, 0.0)

    def x_overlap(self, other: Box) -> float:
        return max(min(self.x1, other.x1) - max(self.x0, other.x0), 0.0)

    def clip(self, bounds: Box) -> Box:
        return Box(
            min(max(self.x0, bounds.x0), bounds.x1),
            min(max(self.y0, bounds.y0), bounds.y1),
            max(min(self.x1, bounds.x1), bounds.x0),
            max(min(self.y1, bounds.y1), bounds.y0),
        )

    def grown(self, margin: float) -> Box:
        return Box(self.x0 - margin, self.y0 - margin, self.x1 + margin, self.y1 + margin)

    def contains_point(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    @classmethod
    def of(cls, values: tuple[float, float, float, float] | pymupdf.Rect) -> Box:
        x0, y0, x1, y1 = values
        if x0 > x1:
            x0, x1 = x1, x0
        if y0 > y1:
            y0, y1 = y1, y0
        return cls(float(x0), float(y0), float(x1), float(y1))


def union_of(boxes: list[Box]) -> Box | None:
    """The smallest box around all of `boxes`; None when there are none."""
    return reduce(Box.union, boxes) if boxes else None


def covered_share(rect: Box, boxes: list[Box]) -> float:
    """How much of `rect` the one of `boxes` that covers most of it covers (0 to 1)."""
    if rect.area <= 0:
        return 0.0
    return max((rect.overlap(box) / rect.area for box in boxes), default=0.0)


class BoxIndex:
    """Boxes filed by horizontal bands of the page, to find those near a box quickly."""

    HEIGHT = 40.0

    def __init__(self, boxes: Iterable[Box] = ()) -> None:
        self.bands: dict[int, list[Box]] = {}
        for box in boxes:
            self.add(box)

    def add(self, box: Box) -> None:
        for band in self._bands(box):
            self.bands.setdefault(band, []).append(box)

    def near(self, box: Box) -> list[Box]:
        """The boxes in the bands `box` reaches that overlap it horizontally."""
        bands = self._bands(box)
        if len(bands) == 1:
            found = self.bands.get(bands[0], [])
        else:
            found = list({id(b): b for n in bands for b in self.bands.get(n, [])}.values())
        return [b for b in found if b.x0 <= box.x1 and b.x1 >= box.x0]

    def _bands(self, box: Box) -> range:
        return range(int(box.y0 // self.HEIGHT), int(box.y1 // self.HEIGHT) + 1)
