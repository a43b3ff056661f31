"""Captions: text blocks that begin with a figure or table label, in every style of
arXiv's fields and publishers, joined over the blocks that continue them."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from bot.figures.boxes import covered_share, union_of
from bot.figures.document import (
    BODY_SIZE_SHARE,
    CAPTION_LINE_GAP,
    CAPTION_SIZE_MATCH,
    CAPTION_SIZE_SHARE,
    INSIDE_PICTURE,
    SAME_TOP,
    SMALL_CAPS_SIZE_SHARE,
    Caption,
    CaptionKind,
    Geometry,
)
from bot.figures.layout import PageContent, TextBlock, join_lines

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
