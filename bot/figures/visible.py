"""Text a reader of the PDF cannot see, told apart from the text they can.

A PDF can carry text that no reader sees but every text extractor reads:
invisible text (render mode 3, or fully transparent), text in the colour of
what lies under it (white on white), text in fonts too small to read, text
outside the page's visible area or cut away by a clipping path, and text
painted over by an opaque image or shape. The invisible OCR text on a scanned
page's picture is what the reader sees there, and is kept. Papers on arXiv have hidden
instructions to AI reviewers this way, so such text is dropped from all that
is read (`bot.figures.layout`) and counted, so that the card can warn.

Runs in the worker process only (see `bot.figures.worker`).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, field
from typing import Any

import pymupdf

from bot.figures.boxes import Box, BoxIndex

MIN_VISIBLE_SIZE = 2.0  # pt: text set smaller than this cannot be read on paper or screen
MIN_COVER = 20.0  # pt²: smaller shapes cannot hide a word
PAINTED_OVER = 0.9  # share of a text run a later image or shape must cover to hide it
LIGHT = 0.9  # text this close to white (1) is invisible on white paper
SAME_SHADE = 24  # grey levels: a glyph box whose pixels differ less than this shows no text
CHECK_ZOOM = 1.0
TEXT_OPERATIONS = frozenset({"fill-text", "stroke-text"})
Quad = tuple[float, float, float, float]
_FILLED = pymupdf.mupdf.FZ_STEXT_FILLED
_STROKED = pymupdf.mupdf.FZ_STEXT_STROKED


@dataclass
class Visibility:
    """What on one page is painted over (from the page's drawing log, in painting order)
    and how many letters were found hidden so far."""

    bounds: Box
    drawn_text: list[Box] = field(default_factory=list)  # every text run painted
    runs: BoxIndex = field(default_factory=BoxIndex)  # the same, filed by place
    under_images: dict[int, list[Box]] = field(default_factory=dict)  # run id: images over it
    under_shapes: set[int] = field(default_factory=set)  # ids of runs a later shape covers
    scanned: set[int] = field(default_factory=set)  # ids of invisible runs on a picture
    painted: BoxIndex = field(default_factory=BoxIndex)  # every shape and image painted
    hidden: int = 0

    @classmethod
    def of(cls, bounds: Box, log: list[tuple[str, Quad]]) -> Visibility:
        """Which text runs a later image or filled shape paints over, and which invisible
        runs lie on a picture painted before them (the OCR text of a scanned page)."""
        seen = cls(bounds)
        images: list[Box] = []
        for kind, values in log:
            if kind == "fill-image":
                images.append(Box.of(values))
            elif kind == "ignore-text":
                box = Box.of(values)
                seen.runs.add(box)
                if _painted_over(box, images):
                    seen.scanned.add(id(box))
        images = []
        shapes = BoxIndex()
        for kind, values in reversed(log):
            width, height = values[2] - values[0], values[3] - values[1]
            if kind == "fill-path" and (min(width, height) < 2 or width * height < MIN_COVER):
                continue  # a rule, a dot or a marker covers no line of text
            box = Box.of(values)
            if kind == "fill-image":
                images.append(box)
                seen.painted.add(box)
            elif kind == "fill-path":
                shapes.add(box)
                seen.painted.add(box)
            elif kind in TEXT_OPERATIONS and box.area > 0:
                seen.drawn_text.append(box)
                seen.runs.add(box)
                if covers := [i for i in images if i.overlap(box) >= PAINTED_OVER * box.area]:
                    seen.under_images[id(box)] = covers
                elif _painted_over(box, shapes.near(box)):
                    seen.under_shapes.add(id(box))
        return seen

    def see_through(self, masked: list[Box]) -> None:
        """Images with a transparency mask (a watermark over the page) hide nothing."""
        for run, covers in list(self.under_images.items()):
            if all(any(_same(cover, image) for image in masked) for cover in covers):
                del self.under_images[run]

    def _only_in(self, box: Box, runs: set[int] | dict[int, list[Box]]) -> bool:
        """Whether every text run the span can come from (around its middle) is one of
        `runs`: a span of a run drawn later on top is not."""
        x, y = box.center
        around = [run for run in self.runs.near(box) if run.contains_point(x, y)]
        return bool(around) and all(id(run) in runs for run in around)

    def keep(self, span: dict[str, Any]) -> bool:
        """Whether a reader may see this span (counted as hidden when not): drawn (or
        the OCR text of a scan), not transparent, big enough, on the page, not under an
        image, not light text on the bare page. Tiny text on a drawing is a figure's
        small print: left out, not counted."""
        box = Box.of(span["bbox"])
        x, y = box.center
        drawn = bool(span["char_flags"] & (_FILLED | _STROKED)) and span["alpha"] > 0
        if span["size"] < MIN_VISIBLE_SIZE and self._on_paint(box):
            return False
        visible = (
            (drawn or (bool(self.scanned) and self._only_in(box, self.scanned)))
            and span["size"] >= MIN_VISIBLE_SIZE
            and self.bounds.contains_point(x, y)
            and not (self.under_images and self._only_in(box, self.under_images))
            and not (_light(span) and not self._on_paint(box))
        )
        if not visible:
            self.hidden += letters(span["text"])
        return visible

    def needs_looking(self, span: dict[str, Any]) -> bool:
        """Text on a filled shape or a picture, or under a shape painted after it: only
        a render tells whether its glyphs stand out from what is around them."""
        box = Box.of(span["bbox"])
        under = bool(self.under_shapes) and self._only_in(box, self.under_shapes)
        return under or self._on_paint(box)

    def _on_paint(self, box: Box) -> bool:
        return _painted_over(box, self.painted.near(box), 0.5)

    def unread_runs(self, lines: list[Box]) -> None:
        """Count text painted where the extractor read nothing: outside the visible page
        or cut away by a clipping path (estimated at one character per half its height)."""
        read = BoxIndex(lines)
        for run in self.drawn_text:
            if run.height > 0 and not any(run.overlap(line) > 0 for line in read.near(run)):
                self.hidden += max(1, round(run.width / (0.5 * run.height)))


def _light(span: dict[str, Any]) -> bool:
    """Near white: all of red, green and blue at least `LIGHT`."""
    return min(pymupdf.sRGB_to_rgb(span["color"])) >= LIGHT * 255


def letters(text: str) -> int:
    """What hidden text is counted in: letters (hidden digits and symbols carry no
    instructions, and some fonts paint them in white for their own layout)."""
    return sum(char.isalpha() for char in text)


def _same(one: Box, other: Box) -> bool:
    return max(abs(a - b) for a, b in zip(astuple(one), astuple(other), strict=True)) < 1


def _painted_over(box: Box, later: list[Box], share: float = PAINTED_OVER) -> bool:
    least = share * box.area
    return any(box.overlap(other) >= least for other in later)


def invisible_spans(page: pymupdf.Page, spans: list[dict[str, Any]]) -> list[int]:
    """Indexes of `spans` whose glyphs do not stand out from what is painted around them
    (text in the colour of its background, or painted over): one render of the part of
    the page they are on."""
    boxes = [pymupdf.Rect(span["bbox"]) & page.rect for span in spans]
    area = pymupdf.Rect()
    for box in boxes:
        area |= box
    if area.is_empty:
        return []
    zoom = pymupdf.Matrix(CHECK_ZOOM, CHECK_ZOOM)
    pixmap = page.get_pixmap(matrix=zoom, colorspace=pymupdf.csGRAY, clip=area, alpha=False)
    samples, stride = pixmap.samples, pixmap.stride
    hidden = []
    for index, box in enumerate(boxes):
        x0 = max(int(box.x0 * CHECK_ZOOM) - pixmap.x, 0)
        x1 = min(int(box.x1 * CHECK_ZOOM) - pixmap.x, pixmap.width)
        y0 = max(int(box.y0 * CHECK_ZOOM) - pixmap.y, 0)
        y1 = min(int(box.y1 * CHECK_ZOOM) - pixmap.y, pixmap.height)
        if box.is_empty or x1 <= x0 or y1 <= y0:
            continue
        rows = [samples[y * stride + x0 : y * stride + x1] for y in range(y0, y1)]
        if max(map(max, rows)) - min(map(min, rows)) < SAME_SHADE:
            hidden.append(index)
    return hidden
