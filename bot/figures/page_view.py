"""One page as the figure finder sees it: graphics, running text, captions, frames."""

from __future__ import annotations

from bot.figures.boxes import Box, BoxIndex, covered_share, union_of
from bot.figures.document import (
    BODY_SIZE_SHARE,
    FRAME_BORDER,
    FRAME_LINE,
    HEADING_REACH,
    HEADING_SIZE_SHARE,
    INLINE_LINES,
    INSIDE_PICTURE,
    PROSE_LETTER_SHARE,
    PROSE_WIDTH_SHARE,
    PROSE_WORDS_PER_LINE,
    Caption,
    Geometry,
)
from bot.figures.layout import PageContent, TextBlock

# ---------------------------------------------------------------- regions


class PageView:
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
            if not (_inline(g, geo) and any(within(g, text) for text in running.near(g)))
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
                if not (caption is not None and within(caption, g.grown(1)))
                and not (frame is not None and _on_border(g, frame))
                and not any(within(g, taken.grown(1)) for taken in self.claimed)
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
    return not within(box, inner) and within(box, frame.grown(1))


def within(inner: Box, outer: Box) -> bool:
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
