"""Text a reader of the PDF cannot see, told apart from the text they can.

A PDF can carry text that no reader sees but every text extractor reads:
invisible text (render mode 3, or fully transparent), text in the colour of
what lies under it (white on white), text in fonts too small to read, text
outside the page's visible area or cut away by a clipping path, and text
painted over by an opaque image or shape. Papers on arXiv have hidden
instructions to AI reviewers this way, so such text is dropped from all that
is read (`bot.figures.layout`) and counted, so that the card can warn.

Runs in the worker process only (see `bot.figures.worker`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pymupdf

from bot.figures.boxes import Box, covered_share

MIN_VISIBLE_SIZE = 2.0  # pt: text set smaller than this cannot be read on paper or screen
PAINTED_OVER = 0.9  # share of a text run a later image or shape must cover to hide it
LIGHT = 0.7  # text at least this light (0 black, 1 white) is checked against its background
SAME_SHADE = 24  # grey levels: a glyph box whose pixels differ less than this shows no text
CHECK_ZOOM = 2.0
TEXT_OPERATIONS = frozenset({"fill-text", "stroke-text"})
Quad = tuple[float, float, float, float]
_FILLED = pymupdf.mupdf.FZ_STEXT_FILLED
_STROKED = pymupdf.mupdf.FZ_STEXT_STROKED


@dataclass
class Visibility:
    """What on one page is painted over (from the page's drawing log, in painting order)
    and how many characters were found hidden so far."""

    bounds: Box
    under_images: list[Box] = field(default_factory=list)  # text runs an image covers
    under_shapes: list[Box] = field(default_factory=list)  # text runs a later shape covers
    drawn_text: list[Box] = field(default_factory=list)  # every text run painted
    hidden: int = 0

    @classmethod
    def of(cls, bounds: Box, log: list[tuple[str, Quad]]) -> Visibility:
        """Which text runs a later image or filled shape paints over."""
        seen = cls(bounds)
        images: list[Box] = []
        shapes = _Bands()
        for kind, values in reversed(log):
            box = Box.of(values)
            if kind == "fill-image":
                images.append(box)
            elif kind == "fill-path" and box.area > 0:
                shapes.add(box)
            elif kind in TEXT_OPERATIONS and box.area > 0:
                seen.drawn_text.append(box)
                if _painted_over(box, images):
                    seen.under_images.append(box)
                elif _painted_over(box, shapes.near(box)):
                    seen.under_shapes.append(box)
        return seen

    def keep(self, span: dict[str, Any]) -> bool:
        """Whether a reader can see this span (counted as hidden when not)."""
        box = Box.of(span["bbox"])
        x, y = box.center
        visible = (
            bool(span["char_flags"] & (_FILLED | _STROKED))
            and span["alpha"] > 0
            and span["size"] >= MIN_VISIBLE_SIZE
            and self.bounds.contains_point(x, y)
            and covered_share(box, self.under_images) <= 0.5
        )
        if not visible:
            self.hidden += letters(span["text"])
        return visible

    def needs_looking(self, span: dict[str, Any]) -> bool:
        """Light text, or text a shape is painted over: only a render tells whether the
        glyphs stand out from what is around them."""
        red, green, blue = pymupdf.sRGB_to_rgb(span["color"])
        light = (0.3 * red + 0.59 * green + 0.11 * blue) / 255 >= LIGHT
        return light or covered_share(Box.of(span["bbox"]), self.under_shapes) > 0.5

    def unread_runs(self, lines: list[Box]) -> None:
        """Count text painted where the extractor read nothing: outside the visible page
        or cut away by a clipping path (estimated at one character per half its height)."""
        read = _Bands()
        for line in lines:
            read.add(line)
        for run in self.drawn_text:
            if run.height > 0 and not any(run.overlap(line) > 0 for line in read.near(run)):
                self.hidden += max(1, round(run.width / (0.5 * run.height)))


class _Bands:
    """Boxes indexed by horizontal bands of the page, to find those near a box quickly."""

    HEIGHT = 40.0

    def __init__(self) -> None:
        self.bands: dict[int, list[Box]] = {}

    def add(self, box: Box) -> None:
        for band in self._bands(box):
            self.bands.setdefault(band, []).append(box)

    def near(self, box: Box) -> list[Box]:
        found = {id(b): b for band in self._bands(box) for b in self.bands.get(band, [])}
        return list(found.values())

    def _bands(self, box: Box) -> range:
        return range(int(box.y0 // self.HEIGHT), int(box.y1 // self.HEIGHT) + 1)


def letters(text: str) -> int:
    """What hidden text is counted in: letters (hidden digits and symbols carry no
    instructions, and some fonts paint them in white for their own layout)."""
    return sum(char.isalpha() for char in text)


def _painted_over(box: Box, later: list[Box]) -> bool:
    return any(box.overlap(other) >= PAINTED_OVER * box.area for other in later)


def invisible_spans(page: pymupdf.Page, spans: list[dict[str, Any]]) -> list[int]:
    """Indexes of `spans` whose glyphs do not stand out from what is painted around them
    (text in the colour of its background, or painted over)."""
    if not spans:
        return []
    display = page.get_displaylist()
    matrix = pymupdf.Matrix(CHECK_ZOOM, CHECK_ZOOM)
    hidden = []
    for index, span in enumerate(spans):
        clip = pymupdf.Rect(span["bbox"]) & page.rect
        if clip.is_empty:
            continue
        pixmap = display.get_pixmap(matrix=matrix, colorspace=pymupdf.csGRAY, clip=clip)
        shades = pixmap.samples
        if shades and max(shades) - min(shades) < SAME_SHADE:
            hidden.append(index)
    return hidden
