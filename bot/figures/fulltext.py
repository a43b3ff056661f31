"""A paper's running text for the summarizer: reading order, references dropped, bounded.

Kept: paragraphs and headings (title, abstract, sections) in reading order:
on each page, a block across the middle (title, full-width text) starts a new
band, and within a band the left column is read before the right one. Left
out: captions, text inside figures, tables and footnotes (smaller type),
running heads and page numbers (outside the text area), vertical margin
stamps, and everything from the references heading on. Words hyphenated at
a line break are joined again; ligatures are plain letters.

Runs in the worker process only (see `bot.figures.worker`).
"""

from __future__ import annotations

import re

from bot.figures.boxes import Box, covered_share
from bot.figures.document import Caption, FoundFigure, Geometry
from bot.figures.layout import PageContent, TextBlock, join_lines

MAX_CHARS = 100_000
TEXT_SIZE_SHARE = 0.88  # smaller type (footnotes, table cells, figure labels) is left out
IN_FIGURE = 0.5
_REFERENCES = re.compile(
    r"(?:[\dIVX]+\.?\s*)?(?:references|bibliography|literature cited|works cited)\s*",
    re.IGNORECASE,
)
_PAGE_NUMBER = re.compile(r"[\divxlc]{1,4}", re.IGNORECASE)


def fulltext(
    pages: list[PageContent], geo: Geometry, captions: list[Caption], figures: list[FoundFigure]
) -> str:
    """The running text of the paper, paragraphs separated by blank lines."""
    caption_blocks = {id(part) for c in captions for part in c.parts}
    paragraphs: list[str] = []
    length = 0
    for page in pages:
        pictures = page.images + [f.bbox for f in figures if f.page == page.number]
        kept = [
            block
            for block in page.blocks
            if id(block) not in caption_blocks
            and not geo.is_furniture(block)
            and _is_text(block, geo, pictures)
        ]
        for block in reading_order(kept, geo):
            if _REFERENCES.fullmatch(block.text):
                return "\n\n".join(paragraphs)
            length += len(block.text) + 2
            if length > MAX_CHARS:
                return "\n\n".join(paragraphs)
            if paragraphs and _continues(paragraphs[-1], block.text):
                paragraphs[-1] = join_lines([paragraphs[-1], block.text])
            else:
                paragraphs.append(block.text)
    return "\n\n".join(paragraphs)


def _continues(paragraph: str, text: str) -> bool:
    """Whether `text` goes on with a paragraph broken by a column or page end."""
    return paragraph[-1] not in ".!?:" and text[0].islower()


def _is_text(block: TextBlock, geo: Geometry, pictures: list[Box]) -> bool:
    x, y = block.rect.center
    return (
        block.size >= TEXT_SIZE_SHARE * geo.body_size
        and geo.text_area.grown(2).contains_point(x, y)
        and covered_share(block.rect, pictures) <= IN_FIGURE
        and not _PAGE_NUMBER.fullmatch(block.text)
    )


def reading_order(blocks: list[TextBlock], geo: Geometry) -> list[TextBlock]:
    """Blocks of one page top to bottom, column by column within each band."""
    middle = geo.middle
    ordered: list[TextBlock] = []
    band: list[TextBlock] = []

    def flush() -> None:
        left = [b for b in band if b.rect.center[0] < middle]
        right = [b for b in band if b.rect.center[0] >= middle]
        for column in (left, right):
            ordered.extend(sorted(column, key=lambda b: b.rect.y0))
        band.clear()

    for block in sorted(blocks, key=lambda b: b.rect.y0):
        if block.rect.x0 < middle - 10 and block.rect.x1 > middle + 10:
            flush()
            ordered.append(block)
        else:
            band.append(block)
    flush()
    return ordered
