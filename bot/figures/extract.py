"""Figures of a PDF: captions found, the region of each figure located, crops rendered.

Captions are text blocks that *begin* with a label and a number: `Figure 3:`,
`Fig. 3.`, `FIGURE 3` (tables, `Table 2:`, are found the same way and kept
apart: they stop a figure's region but are never returned). A sentence that
mentions a figure does not begin a block with a caption label, or uses a
different label style than the document's captions, or sits inside a
picture (another paper's page shown as a figure); none of these count.

The figure belongs to the column of its caption (a caption across the page
middle belongs to a full-width figure). Its region is the run of graphics
(images, vector paths) and figure text (labels, ticks, sub-captions) between
the caption and the nearest running text, another caption or the page's text
area edge: above the caption first, else below it. Subfigures land in one
region, so they come out as one figure.

Runs in the worker process only (see `bot.figures.worker`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

import pymupdf

from bot.figures.boxes import Box, covered_share, union_of
from bot.figures.layout import PageContent, TextBlock

CaptionKind = Literal["figure", "table"]

_CAPTION = re.compile(
    r"(?P<label>Figure|Fig\.?|FIGURE|FIG\.?|Table|TABLE)\s?(?P<number>[1-9]\d{0,2})"
    r"(?:(?P<delimiter>\s?[:|]|\.(?=\s|$))|(?=\s|$))"
)
_NEXT_WORD = re.compile(r"\s*(\S)")

BODY_SIZE_SHARE = 0.85  # running text: at least this share of the body font size
CAPTION_SIZE_SHARE = 0.7  # captions: at least this share (labels in pictures are smaller)
HEADING_SIZE_SHARE = 1.1  # a single line this much larger than body text is a heading
WIDE_LINE_SHARE = 0.5  # a single line this wide (share of the column) is running text
INSIDE_PICTURE = 0.5  # text this much inside an image or filled shape belongs to it
MIN_FIGURE_AREA = 300.0  # pt²: less graphics than this is not a figure
MIN_FIGURE_SIDE = 8.0  # pt
FULL_WIDTH_REACH = 20.0  # pt: a caption this far across the page middle spans both columns
FLOAT_GAP = 24.0  # pt: an empty band this tall between two floats (a table above a figure)
CROP_MARGIN = 3.0  # pt around the figure in the rendered crop

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
    number: int
    page: int  # 1-based
    block: TextBlock
    style: tuple[str, str]  # (label as written, delimiter): "Figure" ":", "Fig." "."

    @property
    def rect(self) -> Box:
        return self.block.rect


@dataclass(frozen=True)
class FoundFigure:
    """A figure's place on its page and its full caption text."""

    number: int
    page: int  # 1-based
    caption: str
    bbox: Box


@dataclass(frozen=True)
class Geometry:
    """Where a document's running text lies: the body font size and the text area."""

    body_size: float
    text_area: Box

    @property
    def middle(self) -> float:
        return (self.text_area.x0 + self.text_area.x1) / 2


def geometry(pages: list[PageContent], body_size: float) -> Geometry:
    """The text area: around every block of running-text size on any page."""
    boxes = [
        block.rect
        for page in pages
        for block in page.blocks
        if block.size >= BODY_SIZE_SHARE * body_size and block.lines >= 2
    ]
    area = union_of(boxes) or (pages[0].rect if pages else Box(0, 0, 612, 792))
    return Geometry(body_size=body_size, text_area=area)


# ---------------------------------------------------------------- captions


def find_captions(pages: list[PageContent], geo: Geometry) -> list[Caption]:
    """Figure and table captions in page order, one per (kind, number)."""
    candidates = [
        caption
        for page in pages
        for block in page.blocks
        if (caption := _caption(block, page, geo)) is not None
    ]
    chosen: list[Caption] = []
    for kind in ("figure", "table"):
        of_kind = [c for c in candidates if c.kind == kind]
        styles = Counter(c.style for c in of_kind)
        for number in sorted({c.number for c in of_kind}):
            same = [c for c in of_kind if c.number == number]
            best = max(styles[c.style] for c in same)
            chosen.append(next(c for c in same if styles[c.style] == best))
    return sorted(chosen, key=lambda c: (c.page, c.rect.y0, c.rect.x0))


def _caption(block: TextBlock, page: PageContent, geo: Geometry) -> Caption | None:
    match = _CAPTION.match(block.text)
    if match is None or block.size < CAPTION_SIZE_SHARE * geo.body_size:
        return None
    delimiter = (match.group("delimiter") or "").strip()
    if not delimiter and not (block.bold_start or _capitalized_next(block.text, match.end())):
        return None  # "Figure 3 shows …" begins a sentence, not a caption
    if covered_share(block.rect, page.images) > INSIDE_PICTURE:
        return None  # a caption inside a picture (another paper's page) is not ours
    label = match.group("label")
    kind: CaptionKind = "table" if label.lower().startswith("tab") else "figure"
    return Caption(kind, int(match.group("number")), page.number, block, (label, delimiter))


def _capitalized_next(text: str, position: int) -> bool:
    word = _NEXT_WORD.match(text, position)
    return word is not None and word.group(1).isupper()


# ---------------------------------------------------------------- regions


def locate_figures(
    pages: list[PageContent], captions: list[Caption], geo: Geometry
) -> list[FoundFigure]:
    """The region of each figure caption that has graphics next to it, in number order."""
    found = []
    for caption in captions:
        if caption.kind != "figure":
            continue
        page = pages[caption.page - 1]
        others = [c.rect for c in captions if c.page == caption.page and c is not caption]
        region = _region(page, caption, others, geo, above=True) or _region(
            page, caption, others, geo, above=False
        )
        if region is not None:
            found.append(FoundFigure(caption.number, caption.page, caption.block.text, region))
    return sorted(found, key=lambda f: f.number)


def _column(caption: Box, geo: Geometry) -> Box:
    """The horizontal band of the caption's figure: its column, or the whole text width."""
    area, middle = geo.text_area, geo.middle
    if caption.x0 < middle - FULL_WIDTH_REACH and caption.x1 > middle + FULL_WIDTH_REACH:
        return area
    if caption.center[0] < middle:
        return Box(area.x0, area.y0, middle, area.y1)
    return Box(middle, area.y0, area.x1, area.y1)


def _is_running_text(block: TextBlock, page: PageContent, column: Box, geo: Geometry) -> bool:
    """Paragraphs and headings (which bound a figure), not labels inside a figure."""
    if block.size < BODY_SIZE_SHARE * geo.body_size:
        return False
    if covered_share(block.rect, page.graphics) > INSIDE_PICTURE:
        return False
    return (
        block.lines >= 2
        or block.width >= WIDE_LINE_SHARE * column.width
        or block.size >= HEADING_SIZE_SHARE * geo.body_size
        or block.bold_start
    )


def _region(
    page: PageContent, caption: Caption, others: list[Box], geo: Geometry, *, above: bool
) -> Box | None:
    column = _column(caption.rect, geo)
    running = [
        block.rect
        for block in page.blocks
        if block is not caption.block and _is_running_text(block, page, column, geo)
    ]
    window, bounded_by_caption = _window(caption.rect, column, running, others, geo, above=above)
    if window is None:
        return None
    graphics = [g for g in page.graphics if _inside(g, window)]
    labels = [
        block.rect
        for block in page.blocks
        if block is not caption.block and _inside(block.rect, window) and block.rect not in running
    ] + [box for box in page.rotated if _inside(box, window)]
    if bounded_by_caption:  # another caption's table or figure may share the band
        graphics, labels = _nearest_group(graphics, labels, caption.rect, above=above)
    drawn = union_of(graphics)
    if drawn is None or sum(g.area for g in graphics) < MIN_FIGURE_AREA:
        return None
    if min(drawn.width, drawn.height) < MIN_FIGURE_SIDE:
        return None
    return (union_of([drawn, *labels]) or drawn).clip(window)


def _window(
    caption: Box,
    column: Box,
    running: list[Box],
    captions: list[Box],
    geo: Geometry,
    *,
    above: bool,
) -> tuple[Box | None, bool]:
    """The free band between the caption and the nearest running text or caption above
    (or below) it, and whether that limit is a caption."""
    area = geo.text_area.grown(CROP_MARGIN)
    limits = [
        (box, box in captions)
        for box in running + captions
        if box.x_overlap(column) > 0.3 * min(box.width, column.width)
    ]
    if above:
        edges = [(box.y1, is_caption) for box, is_caption in limits if box.y1 <= caption.y0 + 1]
        top, bounded_by_caption = max(edges, default=(area.y0, False))
        top = max(top, area.y0)
        window = Box(column.x0, top, column.x1, caption.y0)
    else:
        edges = [(box.y0, is_caption) for box, is_caption in limits if box.y0 >= caption.y1 - 1]
        bottom, bounded_by_caption = min(edges, default=(area.y1, False))
        bottom = min(bottom, area.y1)
        window = Box(column.x0, caption.y1, column.x1, bottom)
    if window.height < MIN_FIGURE_SIDE:
        return None, False
    return window.grown(CROP_MARGIN), bounded_by_caption


def _nearest_group(
    graphics: list[Box], labels: list[Box], caption: Box, *, above: bool
) -> tuple[list[Box], list[Box]]:
    """The graphics and labels on the caption's side of the widest empty horizontal gap
    in the band, when that gap is wide enough to separate two floats."""
    spans = sorted((box.y0, box.y1) for box in graphics + labels)
    gaps = []
    reach = spans[0][1] if spans else 0.0
    for y0, y1 in spans[1:]:
        if y0 > reach:
            gaps.append((y0 - reach, reach, y0))
        reach = max(reach, y1)
    widest = max(gaps, default=(0.0, 0.0, 0.0))
    if widest[0] < FLOAT_GAP:
        return graphics, labels
    cut = (widest[1] + widest[2]) / 2

    def near(box: Box) -> bool:
        return box.center[1] > cut if above else box.center[1] < cut

    return [g for g in graphics if near(g)], [b for b in labels if near(b)]


def _inside(box: Box, window: Box) -> bool:
    x, y = box.center
    return window.contains_point(x, y) and box.x_overlap(window) >= 0.8 * box.width


# ---------------------------------------------------------------- rendering


def render(page: pymupdf.Page, bbox: Box) -> tuple[bytes, str]:
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
