"""What is on a PDF page, read once with PyMuPDF: text blocks, graphics, the body font.

Both the figure finder (`bot.figures.extract`) and the full-text reader
(`bot.figures.fulltext`) work on these `PageContent` values, so a paper is
parsed once for both. Coordinates are PDF points, origin top-left.
Runs in the worker process only (see `bot.figures.worker`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import pymupdf

TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
GRAPHIC_OPERATIONS = frozenset(
    {"fill-path", "stroke-path", "fill-image", "fill-imgmask", "fill-shade"}
)
BOLD = 16
MIN_GRAPHIC_EXTENT = 1.0  # pt: smaller marks (1-pixel dashes, dots) are not graphics
BACKGROUND_SHARE = 0.8  # a graphic covering this much of the page is a background


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
        x0, y0, x1, y1 = (float(v) for v in values)
        return cls(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def union_of(boxes: list[Box]) -> Box | None:
    """The smallest box around all of `boxes`; None when there are none."""
    return reduce(Box.union, boxes) if boxes else None


@dataclass(frozen=True)
class TextBlock:
    """A block of horizontal text as PyMuPDF groups it (a paragraph, a label, a caption)."""

    rect: Box
    text: str
    size: float  # the font size of most of its characters
    lines: int
    bold_start: bool  # its first word is set in bold (caption labels, headings)

    @property
    def width(self) -> float:
        return self.rect.width


@dataclass
class PageContent:
    """One page: its horizontal text blocks in content-stream order, the boxes of its
    other text (rotated axis labels, arXiv's side stamp), graphics and images."""

    number: int  # 1-based
    rect: Box
    blocks: list[TextBlock] = field(default_factory=list)
    rotated: list[Box] = field(default_factory=list)
    graphics: list[Box] = field(default_factory=list)
    images: list[Box] = field(default_factory=list)


def read_page(page: pymupdf.Page) -> PageContent:
    """What is on the page: text blocks, rotated text, graphics and images."""
    bounds = Box.of(page.rect)
    content = PageContent(number=page.number + 1, rect=bounds)
    for kind, values in page.get_bboxlog():
        if kind not in GRAPHIC_OPERATIONS:
            continue
        rect = Box.of(values).clip(bounds)
        if max(rect.width, rect.height) < MIN_GRAPHIC_EXTENT:
            continue
        if rect.area > BACKGROUND_SHARE * bounds.area:
            continue
        content.graphics.append(rect)
        if kind == "fill-image":
            content.images.append(rect)
    for block in page.get_text("dict", flags=TEXT_FLAGS)["blocks"]:
        text_block = _text_block(block)
        if text_block is not None:
            content.blocks.append(text_block)
        content.rotated += [
            Box.of(line["bbox"]) for line in block.get("lines", []) if not _horizontal(line)
        ]
    return content


def _text_block(block: dict[str, Any]) -> TextBlock | None:
    lines = [line for line in block.get("lines", []) if _horizontal(line)]
    if not lines:
        return None
    sizes: Counter[float] = Counter()
    texts = []
    for line in lines:
        for span in line["spans"]:
            sizes[round(span["size"], 1)] += len(span["text"].strip())
        texts.append("".join(span["text"] for span in line["spans"]))
    text = join_lines(texts)
    if not text or not sizes:
        return None
    rect = reduce(Box.union, (Box.of(line["bbox"]) for line in lines))
    first = next((s for s in lines[0]["spans"] if s["text"].strip()), lines[0]["spans"][0])
    return TextBlock(
        rect=rect,
        text=text,
        size=sizes.most_common(1)[0][0],
        lines=len(lines),
        bold_start=bool(first["flags"] & BOLD) or "bold" in first["font"].lower(),
    )


def _horizontal(line: dict[str, Any]) -> bool:
    dx, dy = line["dir"]
    return dx > 0.99 and abs(dy) < 0.01


def join_lines(lines: list[str]) -> str:
    """Lines of a block as one string: whitespace collapsed and words hyphenated at a
    line break joined again ("repre-" + "sent" → "represent")."""
    text = ""
    for raw in lines:
        line = " ".join(raw.split())
        if not line:
            continue
        if len(text) > 1 and text[-1] == "-" and text[-2].isalpha() and line[0].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}" if text else line
    return text


def body_font_size(pages: list[PageContent]) -> float:
    """The font size of most of the document's text."""
    sizes: Counter[float] = Counter()
    for page in pages:
        for block in page.blocks:
            sizes[round(block.size * 2) / 2] += len(block.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def covered_share(rect: Box, boxes: list[Box]) -> float:
    """How much of `rect` the one of `boxes` that covers most of it covers (0 to 1)."""
    if rect.area <= 0:
        return 0.0
    return max((rect.overlap(box) / rect.area for box in boxes), default=0.0)
