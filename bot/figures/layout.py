"""What is on a PDF page, read once with PyMuPDF: text blocks, graphics, the body font.

Only what a reader can see is read: text hidden from readers (invisible, in
the colour of its background, tiny, clipped or painted over; see
`bot.figures.visible`) is left out and counted. Both the figure finder
(`bot.figures.regions`) and the full-text reader (`bot.figures.fulltext`)
work on these `PageContent` values, so a paper is parsed once for both.
Coordinates are PDF points, origin top-left.
Runs in the worker process only (see `bot.figures.worker`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import pymupdf

from bot.figures.boxes import Box
from bot.figures.visible import Visibility, invisible_spans, letters

TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
GRAPHIC_OPERATIONS = frozenset(
    {"fill-path", "stroke-path", "fill-image", "fill-imgmask", "fill-shade"}
)
BOLD = 16
PARAGRAPH_GAP = 0.9  # font sizes: a blank band this tall between lines parts a block
MONOSPACED = 8
_FIXED_FONTS = ("courier", "mono", "cmtt", "sftt", "lmtt", "consol", "typewriter", "inconsolata")
MIN_GRAPHIC_EXTENT = 1.0  # pt: smaller marks (1-pixel dashes, dots) are not graphics
BACKGROUND_SHARE = 0.8  # a graphic covering this much of the page is a background


@dataclass(frozen=True)
class TextBlock:
    """A block of horizontal text as PyMuPDF groups it (a paragraph, a label, a caption),
    with only the spans a reader can see."""

    rect: Box
    text: str
    size: float  # the font size of most of its characters
    lines: int
    bold_start: bool  # its first word is set in bold (caption labels, headings)
    monospaced: bool = False  # most of it in a fixed-width font (code)

    @property
    def width(self) -> float:
        return self.rect.width


@dataclass
class PageContent:
    """One page: its horizontal text blocks in content-stream order, the boxes of its
    other text (rotated axis labels, arXiv's side stamp), graphics and images, and how
    many characters of text on it a reader cannot see (left out of the blocks)."""

    number: int  # 1-based
    rect: Box
    blocks: list[TextBlock] = field(default_factory=list)
    rotated: list[Box] = field(default_factory=list)
    graphics: list[Box] = field(default_factory=list)
    images: list[Box] = field(default_factory=list)
    hidden_chars: int = 0


def read_page(page: pymupdf.Page) -> PageContent:
    """What is on the page that a reader can see: text blocks, rotated text, graphics
    and images."""
    bounds = Box.of(page.rect)
    content = PageContent(number=page.number + 1, rect=bounds)
    log = page.get_bboxlog()
    blocks = page.get_text("dict", flags=TEXT_FLAGS)["blocks"]
    if page.rotation:  # a landscape page (pdflscape): read as it is shown
        log = [(kind, tuple(pymupdf.Rect(values) * page.rotation_matrix)) for kind, values in log]
        _turn(blocks, page.rotation_matrix)
    for kind, values in log:
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
    visibility = Visibility.of(bounds, log)
    if visibility.under_images:  # only then worth asking which pictures are see-through
        visibility.see_through(
            [Box.of(image["bbox"]) for image in page.get_image_info() if image["has-mask"]]
        )
    _drop_hidden(page, blocks, visibility)
    for block in blocks:
        for paragraph in _paragraphs(block):
            text_block = _text_block(paragraph)
            if text_block is not None:
                content.blocks.append(text_block)
        content.rotated += [
            Box.of(line["bbox"]) for line in block.get("lines", []) if not _horizontal(line)
        ]
    content.hidden_chars = visibility.hidden
    return content


def _turn(blocks: list[dict[str, Any]], matrix: pymupdf.Matrix) -> None:
    """Text boxes and directions from the page's own coordinates to those it is shown
    in (turned by its /Rotate)."""
    for block in blocks:
        block["bbox"] = tuple(pymupdf.Rect(block["bbox"]) * matrix)
        for line in block.get("lines", []):
            line["bbox"] = tuple(pymupdf.Rect(line["bbox"]) * matrix)
            dx, dy = line["dir"]
            line["dir"] = (dx * matrix.a + dy * matrix.c, dx * matrix.b + dy * matrix.d)
            for span in line["spans"]:
                span["bbox"] = tuple(pymupdf.Rect(span["bbox"]) * matrix)


def _drop_hidden(page: pymupdf.Page, blocks: list[dict[str, Any]], seen: Visibility) -> None:
    """Remove from `blocks` the spans a reader cannot see, counting their characters."""
    lines = [line for block in blocks for line in block.get("lines", [])]
    seen.unread_runs([Box.of(line["bbox"]) for line in lines])
    for line in lines:
        line["spans"] = [span for span in line["spans"] if seen.keep(span)]
    doubtful = [span for line in lines for span in line["spans"] if seen.needs_looking(span)]
    camouflaged = {id(doubtful[i]) for i in invisible_spans(page, doubtful)} if doubtful else set()
    for line in lines:
        seen.hidden += sum(letters(s["text"]) for s in line["spans"] if id(s) in camouflaged)
        line["spans"] = [span for span in line["spans"] if id(span) not in camouflaged]
    for block in blocks:
        if "lines" in block:
            block["lines"] = [line for line in block["lines"] if line["spans"]]
            for line in block["lines"]:  # around its visible spans only
                boxes = [span["bbox"] for span in line["spans"]]
                line["bbox"] = (
                    min(b[0] for b in boxes),
                    min(b[1] for b in boxes),
                    max(b[2] for b in boxes),
                    max(b[3] for b in boxes),
                )


def _paragraphs(block: dict[str, Any]) -> list[dict[str, Any]]:
    """A block split where a blank band or a change of column parts its lines (some
    PDFs give a whole page, captions and all, as one block)."""
    parts: list[list[dict[str, Any]]] = []
    for line in block.get("lines", []):
        if not any(span["text"].strip() for span in line["spans"]):
            continue  # an empty line (a word processor's blank paragraph) parts nothing
        if parts and _goes_on(parts[-1][-1], line):
            parts[-1].append(line)
        else:
            parts.append([line])
    return [{"lines": lines} for lines in parts]


def _goes_on(previous: dict[str, Any], line: dict[str, Any]) -> bool:
    above, below = Box.of(previous["bbox"]), Box.of(line["bbox"])
    size = max((span["size"] for span in previous["spans"]), default=0.0)
    gap = below.y0 - above.y1
    if gap < -1:  # on the same row: one line in pieces, unless a column apart
        return max(below.x0 - above.x1, above.x0 - below.x1) <= 2 * size
    return gap <= PARAGRAPH_GAP * size and below.x_overlap(above) > 0


def _text_block(block: dict[str, Any]) -> TextBlock | None:
    lines = [line for line in block.get("lines", []) if _horizontal(line)]
    if not lines:
        return None
    sizes: Counter[float] = Counter()
    fixed = 0
    texts = []
    for line in lines:
        for span in line["spans"]:
            characters = len(span["text"].strip())
            sizes[round(span["size"], 1)] += characters
            fixed += characters if _fixed_width(span) else 0
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
        monospaced=fixed > sizes.total() / 2,
    )


def _fixed_width(span: dict[str, Any]) -> bool:
    font = span["font"].lower()
    return bool(span["flags"] & MONOSPACED) or any(name in font for name in _FIXED_FONTS)


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
        if len(text) > 1 and text[-1] == "-" and text[-2].islower() and line[0].islower():
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
