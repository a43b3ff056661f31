"""Figures of a PDF: captions found, the region of each figure located, crops rendered.

Captions are text blocks that *begin* with a label and a number, in any of the
styles of arXiv's fields and publishers (`_CAPTION`): `Figure 3:`, `Figure 3.`,
`Figure 3 Text`, `Figure 3|`, `Fig. 3 |`, `Fig 3.`, `FIG. 3.`, `FIGURE 3`,
`TABLE IV`, bold or not, the number in its own span or not. A caption goes on
over the blocks that follow it closely in its font (one block per line, as
some PDFs have it) and over the top of the next column (Nature's captions run
across both columns). `Figure S3`, `Supplementary Figure 3`, `Extended Data
Fig. 3` and `Figure 3 (cont.)` are captions (they bound other figures) but are
not returned; an unnumbered `Figure.` is figure 1 of a paper without numbered
figures. Tables are found the same way and kept apart: they stop a figure's
region but are never returned. A sentence that mentions a figure does not begin
a block with a caption label, or uses a different label style than the
document's captions, or sits inside a picture (another paper's page shown as a
figure); none of these count.

The figure belongs to the column of its caption, or spans the page when its
graphics cross the page middle or fill the other column beside a one-column
caption (IEEE's left-aligned captions under full-width figures). Its region is
the run of graphics (images, vector paths) and figure text (labels, ticks,
sub-captions) between the caption and the nearest running text, another
caption or the text area's edge: above the caption first, else below it, else
beside it (side captions in a narrow column). A caption whose page has no
graphics for it takes the uncaptioned graphics filling the page before or
after it (a full-page figure with its caption on the facing page). Subfigures
land in one region, so they come out as one figure. A frame drawn around
figure and caption, rules drawn inside running text (fraction bars) and page
furniture (running heads, page numbers) are not part of any figure; white
margins are trimmed off the crop. A caption without graphics takes the code
(fixed-width text) next to it: a listing set as a figure.

A paper with pictures but no caption that pairs with them gets one figure,
numbered 0 and without caption: the largest picture of its first pages, when
it is big enough to be more than a logo.

Runs in the worker process only (see `bot.figures.worker`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Literal

import pymupdf

from bot.figures.boxes import Box, BoxIndex, covered_share, union_of
from bot.figures.layout import PageContent, TextBlock, join_lines

CaptionKind = Literal["figure", "table"]

_CAPTION = re.compile(
    r"(?P<series>(?:Supplementary|Supplemental|Extended\s+Data)\s+)?"
    r"(?P<label>Figure|Fig\.?|FIGURE|FIG\.?|Table|TABLE)"
    r"(?:\s?(?P<number>S?[1-9]\d{0,2}|[IVX]{1,5})"
    r"(?P<continued>\s*\((?:cont(?:inued|\.|'d)?)\))?"
    r"(?:(?P<delimiter>\s?[:|]|\.(?=\s|$|[A-Z(]))|(?=\s|$))"
    r"|(?P<alone>[.:])(?=\s))"
)
_NEXT_WORD = re.compile(r"\s*(\S)")
_ROMAN = {"I": 1, "V": 5, "X": 10}
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


# ---------------------------------------------------------------- captions


def find_captions(pages: list[PageContent], geo: Geometry) -> list[Caption]:
    """Figure and table captions in page order, one per (kind, series, number); each
    joined with the blocks it goes on over."""
    candidates = [
        caption
        for page in pages
        for block in page.blocks
        if (caption := _caption(block, page, geo)) is not None
    ]
    numbered = any(c.returned and c.number for c in candidates)
    chosen: list[Caption] = []
    for kind in ("figure", "table"):
        of_kind = [
            c if c.number else replace(c, number=1)
            for c in candidates
            if c.kind == kind and (c.number or not numbered)
        ]
        styles = Counter(c.style for c in of_kind)
        for key in sorted({(c.series, c.number) for c in of_kind}):
            same = [c for c in of_kind if (c.series, c.number) == key]
            best = max(styles[c.style] for c in same)
            chosen.append(next(c for c in same if styles[c.style] == best))
    joined = [_joined(caption, pages[caption.page - 1], geo) for caption in chosen]
    return sorted(joined, key=lambda c: (c.page, c.rect.y0, c.rect.x0))


def _caption(block: TextBlock, page: PageContent, geo: Geometry) -> Caption | None:
    match = _CAPTION.match(block.text)
    if match is None:
        return None
    label = match.group("label")
    least = SMALL_CAPS_SIZE_SHARE if label.isupper() else CAPTION_SIZE_SHARE
    if block.size < least * geo.body_size:
        return None
    kind: CaptionKind = "table" if label.lower().startswith("tab") else "figure"
    if match.group("alone"):  # "Figure." : the one figure of a paper, unnumbered
        if label not in ("Figure", "FIGURE"):
            return None
        number, delimiter, series = 0, match.group("alone"), ""
    else:
        delimiter = (match.group("delimiter") or "").strip()
        if not delimiter and not (block.bold_start or _capitalized_next(block.text, match.end())):
            return None  # "Figure 3 shows …" begins a sentence, not a caption
        written = match.group("number")
        number = _number(written.removeprefix("S"))
        series = (
            "S"
            if match.group("series") or written.startswith("S")
            else ("cont" if match.group("continued") else "")
        )
    if covered_share(block.rect, page.images) > INSIDE_PICTURE:
        return None  # a caption inside a picture (another paper's page) is not ours
    return Caption(kind, number, page.number, block, (label, delimiter), series, (block,))


def _number(written: str) -> int:
    if written.isdigit():
        return int(written)
    values = [_ROMAN[char] for char in written]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def _capitalized_next(text: str, position: int) -> bool:
    word = _NEXT_WORD.match(text, position)
    return word is not None and word.group(1).isupper()


def _joined(caption: Caption, page: PageContent, geo: Geometry) -> Caption:
    """The caption with the blocks it goes on over: close below it in its font size,
    or at its top in the next column (a caption across two columns)."""
    parts = [caption.block]
    rest = sorted(
        (b for b in page.blocks if b is not caption.block and not _CAPTION.match(b.text)),
        key=lambda b: (b.rect.y0, b.rect.x0),
    )
    size = caption.block.size
    own_font = size < BODY_SIZE_SHARE * geo.body_size
    in_font = [
        b for b in rest if abs(b.size - size) <= CAPTION_SIZE_MATCH and (own_font or b.lines == 1)
    ]  # in the body's font, only single lines (one block per line) are surely its own
    if own_font:  # a caption in its own smaller font
        parts += [
            b
            for b in in_font
            if abs(b.rect.y0 - caption.rect.y0) <= SAME_TOP and b.rect.x0 > caption.rect.x1
        ]
    last = parts[-1]
    for block in in_font:
        gap = block.rect.y0 - last.rect.y1
        if -1 <= gap <= CAPTION_LINE_GAP * size and block.rect.x_overlap(last.rect) > 0:
            parts.append(block)
            last = block
    if len(parts) == 1:
        return caption
    ordered = sorted(parts, key=lambda b: (b.rect.x0 > caption.rect.x1, b.rect.y0))
    whole = TextBlock(
        rect=union_of([b.rect for b in parts]) or caption.rect,
        text=join_lines([b.text for b in ordered]),
        size=size,
        lines=sum(b.lines for b in parts),
        bold_start=caption.block.bold_start,
    )
    return Caption(
        caption.kind,
        caption.number,
        caption.page,
        whole,
        caption.style,
        caption.series,
        tuple(parts),
    )


# ---------------------------------------------------------------- regions


class _PageView:
    """One page as the region finder sees it: its running text, and its graphics
    without the rules drawn inside running text (fraction bars)."""

    def __init__(self, page: PageContent, geo: Geometry, captions: list[Caption]) -> None:
        self.page = page
        self.geo = geo = _turned(page, geo)
        self.captions = [c for c in captions if c.page == page.number]
        owned = [b for b in page.blocks if any(c.owns(b) for c in self.captions)]
        self.running = _running_text(page, geo, owned)
        running_ids = {id(box) for box in self.running}
        self.labels = [
            block.rect
            for block in page.blocks
            if not geo.is_furniture(block)
            and not any(block is b for b in owned)
            and not block.monospaced
            and id(block.rect) not in running_ids
        ] + page.rotated
        self.code = [b.rect for b in page.blocks if b.monospaced and not geo.is_furniture(b)]
        running = BoxIndex(self.running)
        self.graphics = [
            g
            for g in page.graphics
            if not (_inline(g, geo) and any(_within(g, text) for text in running.near(g)))
        ]
        self.claimed: list[Box] = []
        self._usable: dict[tuple[Box | None, int], list[Box]] = {}
        self.tables_above: list[Box] = []  # table captions set above their tables

    def graphics_for(self, caption: Box | None) -> list[Box]:
        """Graphics that can belong to a figure: not a frame around its caption (on this
        page), and not already another figure's."""
        key = (caption, len(self.claimed))
        if key not in self._usable:
            frame = _frame_around(caption, self.graphics) if caption is not None else None
            self._usable[key] = [
                g
                for g in self.graphics
                if not (caption is not None and _within(caption, g.grown(1)))
                and not (frame is not None and _on_border(g, frame))
                and not any(_within(g, taken.grown(1)) for taken in self.claimed)
            ]
        return self._usable[key]

    def caption_boxes(self, but: Caption) -> list[Box]:
        return [c.rect for c in self.captions if c is not but]


def _turned(page: PageContent, geo: Geometry) -> Geometry:
    """A landscape page in a portrait paper (or the other way round) has its own text
    area: around what is on it."""
    area = geo.text_area
    if (page.rect.width > page.rect.height) == (area.width > area.height):
        return geo
    content = union_of([b.rect for b in page.blocks] + page.graphics) or page.rect
    return Geometry(geo.body_size, content, geo.furniture)


def _inline(box: Box, geo: Geometry) -> bool:
    """Small enough to sit on a line of running text: a fraction bar, a glyph drawn as a
    path, an icon (a wrapped figure inside a paragraph's box is bigger)."""
    return box.height <= INLINE_LINES * geo.body_size


def _rule(box: Box) -> bool:
    """A thin line: a fraction bar or an underline in running text, a frame's side."""
    return min(box.width, box.height) <= FRAME_LINE


def _frame_around(caption: Box, graphics: list[Box]) -> Box | None:
    """A frame drawn in pieces around a figure and its caption (BMC): long thin lines
    above, below, left and right of the caption, spanning it."""
    lines = [g for g in graphics if _rule(g)]
    across = [g for g in lines if g.x0 <= caption.x0 and g.x1 >= caption.x1]
    along = [g for g in lines if g.y0 <= caption.y0 and g.y1 >= caption.y1]
    top = [g.y0 for g in across if g.y1 <= caption.y0]
    bottom = [g.y1 for g in across if g.y0 >= caption.y1]
    left = [g.x0 for g in along if g.x1 <= caption.x0]
    right = [g.x1 for g in along if g.x0 >= caption.x1]
    if not (top and bottom and left and right):
        return None
    return Box(max(left), min(top), min(right), max(bottom))


def _on_border(box: Box, frame: Box) -> bool:
    inner = frame.grown(-FRAME_BORDER)
    return not _within(box, inner) and _within(box, frame.grown(1))


def _within(inner: Box, outer: Box) -> bool:
    return (
        inner.overlap(outer) >= 0.9 * inner.area
        if inner.area > 0
        else outer.contains_point(*inner.center)
    )


def _running_text(page: PageContent, geo: Geometry, captions: list[TextBlock]) -> list[Box]:
    """Paragraphs and the headings above them (which bound a figure), not labels,
    ticks or legends inside a figure, nor captions or page furniture."""
    graphics = BoxIndex(page.graphics)
    candidates = [
        block
        for block in page.blocks
        if block.size >= BODY_SIZE_SHARE * geo.body_size
        and not geo.is_furniture(block)
        and not any(block is c for c in captions)
        and covered_share(block.rect, graphics.near(block.rect)) <= INSIDE_PICTURE
    ]
    prose = [b for b in candidates if _is_prose(b, geo)]
    prose_ids = {id(b) for b in prose}
    headings = [
        b
        for b in candidates
        if id(b) not in prose_ids
        and b.lines <= 2
        and (b.bold_start or b.size >= HEADING_SIZE_SHARE * geo.body_size)
        and sum(c.isalpha() for c in b.text) >= 3
        and any(_leads_to(b, p) for p in prose)
    ]
    return [b.rect for b in prose + headings]


def _is_prose(block: TextBlock, geo: Geometry) -> bool:
    words = block.text.split()
    letters = sum(c.isalpha() for c in block.text)
    return (
        not block.monospaced
        and len(words) >= PROSE_WORDS_PER_LINE * block.lines
        and letters >= PROSE_LETTER_SHARE * (len(block.text) - len(words) + 1)
        and block.width >= PROSE_WIDTH_SHARE * geo.text_area.width
    )


def _leads_to(heading: TextBlock, paragraph: TextBlock) -> bool:
    gap = paragraph.rect.y0 - heading.rect.y1
    return -1 <= gap <= HEADING_REACH * heading.size and paragraph.rect.x_overlap(heading.rect) > 0


def locate_figures(
    pages: list[PageContent], captions: list[Caption], geo: Geometry
) -> list[FoundFigure]:
    """The region of each figure caption that has graphics for it, in number order."""
    views = {page.number: _PageView(page, geo, captions) for page in pages}
    if _tables_captioned_above(views, captions):
        for caption in captions:
            if caption.kind == "table":
                views[caption.page].tables_above.append(caption.rect)
    found = []
    missing = []
    for caption in captions:
        if not caption.returned:
            continue
        view = views[caption.page]
        region = _near_caption(view, caption)
        if region is None:
            missing.append(caption)
            continue
        view.claimed.append(region)
        found.append(FoundFigure(caption.number, caption.page, caption.block.text, region))
    for caption in missing:
        facing = _on_facing_page(views, caption)
        if facing is not None:
            page, region = facing
            views[page].claimed.append(region)
            found.append(FoundFigure(caption.number, page, caption.block.text, region))
    return sorted(found, key=lambda f: f.number)


def _tables_captioned_above(views: dict[int, _PageView], captions: list[Caption]) -> bool:
    """Whether the paper sets table captions above their tables (IEEE, A&A, PLOS):
    most of its table captions have table rows right under them."""
    votes = Counter(
        _content_right_below(views[caption.page], caption.rect)
        for caption in captions
        if caption.kind == "table"
    )
    return votes[True] > votes[False]


def _content_right_below(view: _PageView, caption: Box) -> bool:
    under = Box(caption.x0, caption.y1, caption.x1, caption.y1 + TABLE_ROW_GAP * 3)
    return any(box.overlap(under) > 0 for box in view.graphics + view.labels)


def _near_caption(view: _PageView, caption: Caption) -> Box | None:
    return (
        _region(view, caption, above=True)
        or _region(view, caption, above=False)
        or _beside(view, caption)
    )


def _column(caption: Box, geo: Geometry) -> Box:
    """The horizontal band of the caption's figure: its column, or the whole text width."""
    area, middle = geo.text_area, geo.middle
    if caption.x0 < middle - FULL_WIDTH_REACH and caption.x1 > middle + FULL_WIDTH_REACH:
        return area
    if caption.center[0] < middle:
        return Box(area.x0, area.y0, middle, area.y1)
    return Box(middle, area.y0, area.x1, area.y1)


def _region(view: _PageView, caption: Caption, *, above: bool) -> Box | None:
    geo = view.geo
    others = view.caption_boxes(caption)
    column = _column(caption.rect, geo)
    if column != geo.text_area and _spans_columns(view, caption, above=above):
        column = geo.text_area
    window, limit = _window(caption.rect, column, view.running, others, geo, above=above)
    if window is None:
        return None
    graphics = [
        g
        for g in view.graphics_for(caption.rect)
        if _inside(g, window) and not _level_with(g, caption.rect)
    ]
    labels = [box for box in view.labels if _inside(box, window)]
    if limit is not None and above and limit in view.tables_above:
        graphics, labels = _below_table(graphics, labels, limit)
    if limit is not None:  # another caption's table or figure may share the band
        graphics, labels = _nearest_group(graphics, labels, caption.rect, above=above)
    drawn = _figure_box(graphics, labels, window, view.page.rect)
    if drawn is None:  # a listing of code as the figure
        code = [box for box in view.code if _inside(box, window)]
        return _figure_box(code, [], window, view.page.rect)
    return drawn


def _level_with(graphic: Box, caption: Box) -> bool:
    """Whether a graphic reaches beside the caption (a side caption's figure), not just
    over its edge."""
    return (
        graphic.y0 < caption.y1 - CROP_MARGIN
        and graphic.y1 > caption.y0 + CROP_MARGIN
        and graphic.x_overlap(caption) == 0
    )


def _below_table(
    graphics: list[Box], labels: list[Box], caption: Box
) -> tuple[list[Box], list[Box]]:
    """Without the table that a table caption above the band heads (in papers that
    caption tables above them): the rows under the caption, down to the first blank
    band."""
    spans = sorted((box.y0, box.y1) for box in graphics + labels if box.y0 >= caption.y0)
    if not spans:
        return graphics, labels
    end = caption.y1
    for y0, y1 in spans:
        if y0 > end + TABLE_ROW_GAP:
            break
        end = max(end, y1)

    def after(box: Box) -> bool:
        return box.center[1] > end

    return [g for g in graphics if after(g)], [b for b in labels if after(b)]


def _figure_box(graphics: list[Box], labels: list[Box], window: Box, page: Box) -> Box | None:
    """Around the graphics and the labels next to them (or next to such labels), within
    the window's height; a figure may reach past its column into the margin."""
    drawn = union_of(graphics)
    if drawn is None or min(drawn.width, drawn.height) < MIN_FIGURE_SIDE:
        return None
    ruled = len(graphics) >= RULES and any(_within(box, drawn) for box in labels)
    if sum(g.area for g in graphics) < MIN_FIGURE_AREA and not ruled:
        return None  # a stray rule or mark; a figure of text between rules is kept
    region, rest = drawn, labels
    while near := [box for box in rest if box.overlap(region.grown(FLOAT_GAP)) > 0]:
        region = union_of([region, *near]) or region
        rest = [box for box in rest if box not in near]
    return region.clip(Box(page.x0, window.y0, page.x1, window.y1))


def _spans_columns(view: _PageView, caption: Caption, *, above: bool) -> bool:
    """Whether a one-column caption belongs to a figure across the page: its graphics
    cross the page middle, or fill the other column next to the caption where no
    caption of its own sits."""
    geo = view.geo
    others = view.caption_boxes(caption)
    window, _ = _window(caption.rect, geo.text_area, view.running, others, geo, above=above)
    if window is None:
        return False
    graphics = [g for g in view.graphics_for(caption.rect) if _inside(g, window)]
    middle = geo.middle
    if any(g.x0 < middle - FULL_WIDTH_REACH and g.x1 > middle + FULL_WIDTH_REACH for g in graphics):
        return True
    left = caption.rect.center[0] < middle

    def across(box: Box) -> bool:
        return (box.center[0] >= middle) == left

    beside = [  # captions of the other column's own floats
        box
        for box in others
        if across(box) and box.y0 < caption.rect.y1 + FLOAT_GAP and box.y1 > window.y0
    ]
    level = Box(geo.text_area.x0, caption.rect.y0, geo.text_area.x1, caption.rect.y1)
    reaching = [g for g in view.graphics_for(caption.rect) if across(g) and g.overlap(level) > 0]
    other = [g for g in graphics if across(g)]
    return sum(g.area for g in other) >= MIN_FIGURE_AREA and not beside and not reaching


def _window(
    caption: Box,
    column: Box,
    running: list[Box],
    captions: list[Box],
    geo: Geometry,
    *,
    above: bool,
) -> tuple[Box | None, Box | None]:
    """The free band between the caption and the nearest running text or caption above
    (or below) it, and that limit when it is a caption."""
    area = geo.text_area.grown(CROP_MARGIN)
    limits = [
        (box, box in captions)
        for box in running + captions
        if box.x_overlap(column) > 0.3 * min(box.width, column.width)
    ]
    if above:
        edges = [
            (box.y1, box, is_caption) for box, is_caption in limits if box.y1 <= caption.y0 + 1
        ]
        top, nearest, is_caption = max(edges, key=lambda e: e[0], default=(area.y0, None, False))
        top = max(top, area.y0)
        window = Box(column.x0, top, column.x1, caption.y0)
    else:
        edges = [
            (box.y0, box, is_caption) for box, is_caption in limits if box.y0 >= caption.y1 - 1
        ]
        bottom, nearest, is_caption = min(edges, key=lambda e: e[0], default=(area.y1, None, False))
        bottom = min(bottom, area.y1)
        window = Box(column.x0, caption.y1, column.x1, bottom)
    if window.height < MIN_FIGURE_SIDE:
        return None, None
    return window.grown(CROP_MARGIN), nearest if is_caption else None


def _beside(view: _PageView, caption: Caption) -> Box | None:
    """A figure to the left or right of its caption (a side caption in a narrow
    column): graphics level with the caption, between it and the text area's edge, up
    and down to the nearest running text there."""
    geo, rect = view.geo, caption.rect
    area = geo.text_area.grown(CROP_MARGIN)
    for x0, x1 in ((area.x0, rect.x0), (rect.x1, area.x1)):
        if x1 - x0 < MIN_FIGURE_SIDE:
            continue
        band = Box(x0, area.y0, x1, area.y1)
        limits = [box for box in view.running + view.caption_boxes(caption) if box.overlap(band)]
        if any(box.y0 < rect.y1 and box.y1 > rect.y0 for box in limits):
            continue  # text level with the caption: not a side figure
        top = max((b.y1 for b in limits if b.y1 <= rect.y0), default=area.y0)
        bottom = min((b.y0 for b in limits if b.y0 >= rect.y1), default=area.y1)
        window = Box(x0, top, x1, bottom).grown(CROP_MARGIN)
        graphics = [g for g in view.graphics_for(rect) if _inside(g, window)]
        if not any(g.y0 < rect.y1 and g.y1 > rect.y0 for g in graphics):
            continue
        labels = [box for box in view.labels if _inside(box, window)]
        region = _figure_box(graphics, labels, window, view.page.rect)
        if region is not None:
            return region
    return None


def _on_facing_page(views: dict[int, _PageView], caption: Caption) -> PaperRegion | None:
    """A full-page figure on the page after (or before) its caption's page: a page
    without captions whose uncaptioned graphics fill much of the text area."""
    for number in (caption.page + 1, caption.page - 1):
        view = views.get(number)
        if view is None or view.captions:
            continue
        area = view.geo.text_area
        graphics = [g for g in view.graphics_for(None) if _inside(g, area.grown(2))]
        drawn = union_of(graphics)
        if drawn is None or drawn.area < FULL_PAGE_SHARE * area.area:
            continue
        if any(box.overlap(drawn) > 0.5 * box.area for box in view.running):
            continue  # running text inside: not a page given to one figure
        labels = [box for box in view.labels if _inside(box, drawn.grown(FLOAT_GAP))]
        return number, (union_of([drawn, *labels]) or drawn).clip(area.grown(CROP_MARGIN))
    return None


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


def uncaptioned_picture(pages: list[PageContent], geo: Geometry) -> FoundFigure | None:
    """For a paper whose pictures no caption pairs with: the largest picture on its
    first pages, when it is big enough (never a logo, a running head's emblem or a
    picture in a table)."""
    area = geo.text_area
    candidates = [
        (picture.area, page.number, picture)
        for page in pages[:PICTURE_PAGES]
        for picture in page.images
        if picture.area >= PICTURE_SHARE * area.area
        and min(picture.width, picture.height) >= PICTURE_MIN_SIDE
        and _inside(picture, area.grown(CROP_MARGIN))
    ]
    if not candidates:
        return None
    _, number, picture = max(candidates, key=lambda c: c[0])
    return FoundFigure(0, number, "", picture)


def figures(
    drawn: Drawn, pages: list[PageContent], captions: list[Caption], geo: Geometry
) -> list[FoundFigure]:
    """The paper's figures with their margins trimmed, in number order; a paper without
    captioned figures gets its uncaptioned key picture, if it has one."""
    found = locate_figures(pages, captions, geo)
    if not found:
        picture = uncaptioned_picture(pages, geo)
        found = [picture] if picture is not None else []
    kept = []
    for figure in found:
        box = trimmed(drawn.page(figure.page), figure.bbox)
        if box is None:
            continue
        pictures = [p for p in pages[figure.page - 1].images if _within(p, figure.bbox.grown(1))]
        box = union_of([box, *pictures]) or box  # a picture keeps its own white border
        if min(box.width, box.height) >= MIN_FIGURE_SIDE:
            kept.append(FoundFigure(figure.number, figure.page, figure.caption, box))
    return kept


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
