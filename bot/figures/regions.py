"""Figures of a PDF: captions found, the region of each figure located, crops rendered.

Captions are text blocks that *begin* with a label and a number, in any of the
styles of arXiv's fields and publishers (`bot.figures.captions`): `Figure 3:`, `Figure 3.`,
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

from collections import Counter

from bot.figures.boxes import Box, union_of
from bot.figures.crops import Drawn, trimmed
from bot.figures.document import (
    CROP_MARGIN,
    FLOAT_GAP,
    FULL_PAGE_SHARE,
    FULL_WIDTH_REACH,
    MIN_FIGURE_AREA,
    MIN_FIGURE_SIDE,
    PICTURE_MIN_SIDE,
    PICTURE_PAGES,
    PICTURE_SHARE,
    RULES,
    TABLE_ROW_GAP,
    Caption,
    FoundFigure,
    Geometry,
    PaperRegion,
)
from bot.figures.layout import PageContent
from bot.figures.page_view import PageView, within


def locate_figures(
    pages: list[PageContent], captions: list[Caption], geo: Geometry
) -> list[FoundFigure]:
    """The region of each figure caption that has graphics for it, in number order."""
    views = {page.number: PageView(page, geo, captions) for page in pages}
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


def _tables_captioned_above(views: dict[int, PageView], captions: list[Caption]) -> bool:
    """Whether the paper sets table captions above their tables (IEEE, A&A, PLOS):
    most of its table captions have table rows right under them."""
    votes = Counter(
        _content_right_below(views[caption.page], caption.rect)
        for caption in captions
        if caption.kind == "table"
    )
    return votes[True] > votes[False]


def _content_right_below(view: PageView, caption: Box) -> bool:
    under = Box(caption.x0, caption.y1, caption.x1, caption.y1 + TABLE_ROW_GAP * 3)
    return any(box.overlap(under) > 0 for box in view.graphics + view.labels)


def _near_caption(view: PageView, caption: Caption) -> Box | None:
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


def _region(view: PageView, caption: Caption, *, above: bool) -> Box | None:
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
    ruled = len(graphics) >= RULES and any(within(box, drawn) for box in labels)
    if sum(g.area for g in graphics) < MIN_FIGURE_AREA and not ruled:
        return None  # a stray rule or mark; a figure of text between rules is kept
    region, rest = drawn, labels
    while near := [box for box in rest if box.overlap(region.grown(FLOAT_GAP)) > 0]:
        region = union_of([region, *near]) or region
        rest = [box for box in rest if box not in near]
    return region.clip(Box(page.x0, window.y0, page.x1, window.y1))


def _spans_columns(view: PageView, caption: Caption, *, above: bool) -> bool:
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


def _beside(view: PageView, caption: Caption) -> Box | None:
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


def _on_facing_page(views: dict[int, PageView], caption: Caption) -> PaperRegion | None:
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
        pictures = [p for p in pages[figure.page - 1].images if within(p, figure.bbox.grown(1))]
        box = union_of([box, *pictures]) or box  # a picture keeps its own white border
        if min(box.width, box.height) >= MIN_FIGURE_SIDE:
            kept.append(FoundFigure(figure.number, figure.page, figure.caption, box))
    return kept
