"""A figure extraction's vocabulary and the document's geometry: captions and figures
found, where the running text lies, and the tuning constants every step shares (see
`bot.figures.regions` for how figures are found)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from bot.figures.boxes import Box
from bot.figures.layout import PageContent, TextBlock

CaptionKind = Literal["figure", "table"]

_DIGITS = re.compile(r"\d+")

BODY_SIZE_SHARE = 0.85  # running text: at least this share of the body font size
CAPTION_SIZE_SHARE = 0.7  # captions: at least this share (labels in pictures are smaller)
SMALL_CAPS_SIZE_SHARE = 0.55  # ... or this, for a label in capitals (IEEE's small caps)
HEADING_SIZE_SHARE = 1.1  # a line this much larger than body text may be a heading
PROSE_WORDS_PER_LINE = 4  # running text has sentences; tick labels and legends do not
PROSE_LETTER_SHARE = 0.5
PROSE_WIDTH_SHARE = 0.2  # of the text area's width
HEADING_REACH = 3.0  # font sizes: a heading has running text this close below it
INSIDE_PICTURE = 0.5  # text this much inside an image or filled shape belongs to it
CAPTION_LINE_GAP = 1.1  # font sizes: a caption goes on over a block this close below it
CAPTION_SIZE_MATCH = 0.6  # pt: ... set in the caption's font size
SAME_TOP = 2.0  # pt: a caption block that goes on at the top of the next column
EDGE_SHARE = 0.05  # of the running text's characters: what lines up along a column edge
FURNITURE_PAGES = 3  # text at the same place on this many pages is a running head
FRAME_LINE = 1.5  # pt: the pieces of a frame around figure and caption are this thin
FRAME_BORDER = 6.0  # pt: ... and lie this close to the frame's edge (rounded corners)
TABLE_ROW_GAP = 5.0  # pt: rows of a table follow each other closer than this
MIN_FIGURE_AREA = 300.0  # pt²: less graphics than this is not a figure
INLINE_LINES = 2.0  # body font sizes: a graphic this low can sit on a line of text
RULES = 3  # ... unless that many rules hold text: a figure set as a ruled table of text
MIN_FIGURE_SIDE = 8.0  # pt
FULL_WIDTH_REACH = 20.0  # pt: a caption this far across the page middle spans both columns
FLOAT_GAP = 24.0  # pt: an empty band this tall between two floats (a table above a figure)
CROP_MARGIN = 3.0  # pt around the figure in the rendered crop
FULL_PAGE_SHARE = 0.25  # of the text area: graphics a full-page figure fills at least
PICTURE_SHARE = 0.06  # of the text area: the least an uncaptioned key picture covers
PICTURE_MIN_SIDE = 72.0  # pt
PICTURE_PAGES = 3  # an uncaptioned key picture is on one of the first pages
WHITE = 248  # grey level: lighter pixels are margin, trimmed off a crop
TRIM_ZOOM = 1.0
PaperRegion = tuple[int, Box]  # (1-based page, box)

# Telegram photo limits, with room to spare
MAX_IMAGE_BYTES = 9_000_000
MAX_SIDE_SUM = 9_000
MAX_ASPECT = 19.0
TARGET_LONG_SIDE = 1600  # px: sharp on a phone (Telegram shows 1280, zooms to 2560)
MIN_ZOOM, MAX_ZOOM = 2.0, 6.0
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Caption:
    kind: CaptionKind
    number: int  # 0: printed without a number
    page: int  # 1-based
    block: TextBlock  # all of the caption: its blocks joined
    style: tuple[str, str]  # (label as written, delimiter): "Figure" ":", "Fig." "."
    series: str = ""  # "" main; "S" supplementary or extended data; "cont" continued
    parts: tuple[TextBlock, ...] = ()  # the page's blocks it is made of

    @property
    def rect(self) -> Box:
        return self.block.rect

    @property
    def returned(self) -> bool:
        """Whether it is a figure of the paper's own numbered series."""
        return self.kind == "figure" and self.series == ""

    def owns(self, block: TextBlock) -> bool:
        return any(block is part for part in self.parts)


@dataclass(frozen=True)
class FoundFigure:
    """A figure's place on its page and its full caption text."""

    number: int
    page: int  # 1-based
    caption: str
    bbox: Box


@dataclass(frozen=True)
class Geometry:
    """Where a document's running text lies: the body font size, the text area, and
    the page furniture (running heads, page numbers) outside it."""

    body_size: float
    text_area: Box
    furniture: frozenset[int] = field(default_factory=frozenset)  # ids of blocks

    @property
    def middle(self) -> float:
        return (self.text_area.x0 + self.text_area.x1) / 2

    def is_furniture(self, block: TextBlock) -> bool:
        return id(block) in self.furniture


def geometry(pages: list[PageContent], body_size: float) -> Geometry:
    """The text area: around the blocks of running-text size on any page, leaving out
    page furniture and the few lines (code, long formulas) that stick out into the
    margin."""
    furniture = _furniture(pages)
    blocks = [
        block
        for page in pages
        for block in page.blocks
        if block.size >= BODY_SIZE_SHARE * body_size
        and block.lines >= 2
        and id(block) not in furniture
    ]
    if not blocks:
        area = pages[0].rect if pages else Box(0, 0, 612, 792)
        return Geometry(body_size, area, frozenset(furniture))
    weights = [len(block.text) for block in blocks]
    tops: dict[int, float] = {}
    feet: dict[int, float] = {}
    counted = {id(block) for block in blocks}
    for page in pages:
        for block in page.blocks:
            if id(block) in counted:
                tops[page.number] = min(tops.get(page.number, block.rect.y0), block.rect.y0)
                feet[page.number] = max(feet.get(page.number, block.rect.y1), block.rect.y1)
    area = Box(
        min(_edges([b.rect.x0 for b in blocks], weights)),
        min(_but_the_first(tops)),
        max(_edges([b.rect.x1 for b in blocks], weights)),
        max(_but_the_first(feet)),
    )
    return Geometry(body_size, area, frozenset(furniture))


def _but_the_first(by_page: dict[int, float]) -> list[float]:
    """The pages' text tops (or feet) but the first page's, when there are others: a
    journal's head on its first page does not widen the text area of all."""
    return [value for page, value in by_page.items() if page > 1] or list(by_page.values())


def _edges(values: list[float], weights: list[int]) -> list[float]:
    """The places (to 2 pt) where many characters' blocks start (or end): column edges,
    not the odd code line or formula sticking out into the margin."""
    at: Counter[float] = Counter()
    for value, weight in zip(values, weights, strict=True):
        at[round(value / 2) * 2] += weight
    total = sum(weights)
    return [value for value, weight in at.items() if weight >= EDGE_SHARE * total] or values


def _furniture(pages: list[PageContent]) -> set[int]:
    """Blocks repeated at the same height on several pages (numbers aside): running
    heads and feet, page numbers."""
    if len(pages) < FURNITURE_PAGES + 1:
        return set()
    places: dict[tuple[int, str], list[tuple[int, TextBlock]]] = {}
    for page in pages:
        for block in page.blocks:
            key = (round(block.rect.y0 / 6), _DIGITS.sub("#", block.text.lower())[:40])
            places.setdefault(key, []).append((page.number, block))
    return {
        id(block)
        for found in places.values()
        if len({number for number, _ in found}) >= FURNITURE_PAGES
        for _, block in found
    }
