"""Crops of a figure's region: white margins trimmed, rendered within Telegram's photo
limits."""

from __future__ import annotations

import pymupdf

from bot.figures.boxes import Box
from bot.figures.document import (
    CROP_MARGIN,
    JPEG_QUALITY,
    MAX_ASPECT,
    MAX_IMAGE_BYTES,
    MAX_SIDE_SUM,
    MAX_ZOOM,
    MIN_ZOOM,
    TARGET_LONG_SIDE,
    TRIM_ZOOM,
    WHITE,
)

# ---------------------------------------------------------------- rendering


class Drawn:
    """The paper's pages as drawn: each page's display list is made once, for trimming
    and rendering all of its figures."""

    def __init__(self, document: pymupdf.Document) -> None:
        self.document = document
        self.lists: dict[int, pymupdf.DisplayList] = {}

    def page(self, number: int) -> pymupdf.DisplayList:
        """The display list of page `number` (1-based)."""
        if number not in self.lists:
            self.lists[number] = self.document[number - 1].get_displaylist()
        return self.lists[number]


_MARGIN_OR_INK = bytes(255 if shade >= WHITE else 0 for shade in range(256))


def trimmed(page: pymupdf.DisplayList, bbox: Box) -> Box | None:
    """`bbox` without its white margins (a white background drawn behind a plot, the
    padding of a picture); None when all of it is white."""
    clip = pymupdf.Rect(bbox.x0, bbox.y0, bbox.x1, bbox.y1) & page.rect
    if clip.is_empty:
        return None
    zoom = pymupdf.Matrix(TRIM_ZOOM, TRIM_ZOOM)
    pixmap = page.get_pixmap(matrix=zoom, colorspace=pymupdf.csGRAY, clip=clip, alpha=False)
    width, stride, samples = pixmap.width, pixmap.stride, pixmap.samples
    left, right, rows = width, -1, []
    for y in range(pixmap.height):
        row = samples[y * stride : y * stride + width].translate(_MARGIN_OR_INK)
        first = row.find(0)
        if first >= 0:
            rows.append(y)
            left, right = min(left, first), max(right, row.rfind(0))
    if not rows:
        return None
    x0, y0 = pixmap.x / TRIM_ZOOM, pixmap.y / TRIM_ZOOM
    return Box(
        max(bbox.x0, x0 + left / TRIM_ZOOM),
        max(bbox.y0, y0 + rows[0] / TRIM_ZOOM),
        min(bbox.x1, x0 + (right + 1) / TRIM_ZOOM),
        min(bbox.y1, y0 + (rows[-1] + 1) / TRIM_ZOOM),
    )


def render(page: pymupdf.DisplayList, bbox: Box) -> tuple[bytes, str]:
    """The region as an image within Telegram's photo limits: PNG, or JPEG when big."""
    clip = _aspect_limited(bbox.grown(CROP_MARGIN), Box.of(page.rect))
    zoom = min(MAX_ZOOM, max(MIN_ZOOM, TARGET_LONG_SIDE / max(clip.width, clip.height)))
    zoom = min(zoom, MAX_SIDE_SUM / (clip.width + clip.height))
    rect = pymupdf.Rect(clip.x0, clip.y0, clip.x1, clip.y1)
    while True:
        pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=rect, alpha=False)
        image = pixmap.tobytes("png")
        if len(image) <= MAX_IMAGE_BYTES:
            return image, "image/png"
        image = pixmap.tobytes("jpeg", jpg_quality=JPEG_QUALITY)
        if len(image) <= MAX_IMAGE_BYTES or zoom <= 1:
            return image, "image/jpeg"
        zoom /= 1.5


def _aspect_limited(box: Box, page: Box) -> Box:
    """`box` grown along its short side so that its aspect ratio stays within the limit."""
    width, height = max(box.width, 1.0), max(box.height, 1.0)
    if width / height > MAX_ASPECT:
        grow = (width / MAX_ASPECT - height) / 2
        box = Box(box.x0, box.y0 - grow, box.x1, box.y1 + grow)
    elif height / width > MAX_ASPECT:
        grow = (height / MAX_ASPECT - width) / 2
        box = Box(box.x0 - grow, box.y0, box.x1 + grow, box.y1)
    return box.clip(page)
