"""Figures and full text of the real fixture PDFs against EXPECTED.json, and the sandbox
on PDFs that must give nothing (truncated, not a PDF, encrypted, memory or time bombs).

Each fixture is parsed once per session, by the real worker process, and read back
through the cache, as the bot reads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pymupdf
import pytest

from bot.figures.cache import Parsed, PdfCache
from bot.figures.fulltext import MAX_CHARS
from bot.figures.sandbox import Limits, ParseFailed, parse_pdf
from bot.models import Figure
from tests.pdf_samples import (
    BBOX_TOLERANCE,
    EXPECTED,
    HIDING_WAYS,
    INJECTION,
    PAPERS,
    bbox_miss,
    encrypted,
    fixture_bytes,
    hidden_injection_paper,
    layouts_paper,
    matches,
    normalized,
    parse_into,
    span_flood,
    truncated,
    two_column_paper,
    uncaptioned_paper,
    unnumbered_caption_paper,
)

# of the other fields' papers, one per style (the benchmark runs them all)
STYLES = [
    "revtex_1609.04957v2_nmr_lafeaso_pressure.pdf",  # FIG. 1: two columns, vector plots
    "natcomm2024_asgard_ef1a.pdf",  # Fig. 1 | caption across both columns
    "ieee_tcsvt1997_disk_storage_scalable_video.pdf",  # Fig. 1. under full-width, TABLE IV
    "bmc_jissn2015_ski_mountaineers_nutrition.pdf",  # Fig. 1 in a frame
    "phr_probation_mortality_tables_only.pdf",  # tables only
]
TESTED = PAPERS + STYLES


async def _parse_all(root: Path) -> dict[str, Parsed]:
    cache = PdfCache(root)
    return {name: await parse_into(cache, name, fixture_bytes(name)) for name in TESTED}


@pytest.fixture(scope="session")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Parsed]:
    return asyncio.run(_parse_all(tmp_path_factory.mktemp("pdf-cache")))


@pytest.mark.parametrize("name", TESTED)
def test_every_expected_figure_on_its_page_with_its_caption(
    parsed: dict[str, Parsed], name: str
) -> None:
    expected = EXPECTED[name]["figures"]
    figures = parsed[name].figures
    assert [(f.number, f.page) for f in figures] == [
        (int(e["number"]), e["page"]) for e in expected
    ]
    for figure, want in zip(figures, expected, strict=True):
        assert matches(figure, want), (figure, bbox_miss(figure, want), BBOX_TOLERANCE)


@pytest.mark.parametrize("name", TESTED)
def test_no_table_or_body_text_taken_as_a_figure(parsed: dict[str, Parsed], name: str) -> None:
    captions = [normalized(f.caption) for f in parsed[name].figures]
    assert not [c for c in captions if c.startswith(("Table", "TABLE"))]
    for trap in EXPECTED[name]["traps"]:
        assert not [c for c in captions if c.startswith(normalized(trap["text"])[:30])], trap


def test_a_page_of_tables_only_gives_no_figures(parsed: dict[str, Parsed]) -> None:
    assert parsed["scibert_1903.10676_one_page_tables_only.pdf"].figures == []


def test_another_papers_caption_inside_a_figure_is_not_a_figure(
    parsed: dict[str, Parsed],
) -> None:
    figure_1 = parsed["emnlp2023demo_papermage.pdf"].figures[0]
    assert (figure_1.number, figure_1.page) == (1, 1)
    assert figure_1.caption.startswith("Figure 1: papermage")


async def test_caption_above_other_caption_styles_and_a_table_over_a_figure(tmp_path: Path) -> None:
    truth = two_column_paper(tmp_path / "paper.pdf")
    pdf = (tmp_path / "paper.pdf").read_bytes()
    parsed = await parse_into(PdfCache(tmp_path / "cache"), "synthetic", pdf)
    assert [(f.number, f.caption) for f in parsed.figures] == [
        (1, "FIGURE 1 A chart drawn below its caption, as some styles place it."),
        (2, "Fig. 2. Two panels of one raster figure."),
        (3, "Figure 3: A figure under a table."),
    ]
    for figure in parsed.figures:
        misses = [abs(a - b) for a, b in zip(figure.bbox, truth[figure.number], strict=True)]
        assert max(misses) <= BBOX_TOLERANCE, (figure.number, figure.bbox)
    assert parsed.text is not None and "Two panels of one raster figure" not in parsed.text
    assert "Figure 1 shows Running text" in parsed.text


Truth = TypeVar("Truth")


async def _parse_made(tmp_path: Path, make: Callable[[Path], Truth]) -> tuple[Parsed, Truth]:
    truth = make(tmp_path / "paper.pdf")
    pdf = (tmp_path / "paper.pdf").read_bytes()
    return await parse_into(PdfCache(tmp_path / "cache"), "made", pdf), truth


def _near(figure: Figure, box: list[float]) -> bool:
    return max(abs(a - b) for a, b in zip(figure.bbox, box, strict=True)) <= BBOX_TOLERANCE


async def test_full_width_side_caption_caption_on_the_page_before_and_landscape(
    tmp_path: Path,
) -> None:
    parsed, truth = await _parse_made(tmp_path, layouts_paper)
    assert [(f.number, f.page) for f in parsed.figures] == [(1, 1), (2, 2), (3, 4), (4, 6)]
    for figure in parsed.figures:
        assert _near(figure, truth[figure.number][1]), (figure.number, figure.bbox)
    assert parsed.figures[2].caption.startswith("Figure 3: A full-page figure")


async def test_an_unnumbered_caption_above_its_chart_is_figure_1(tmp_path: Path) -> None:
    parsed, truth = await _parse_made(tmp_path, unnumbered_caption_paper)
    assert [(f.number, f.caption[:7]) for f in parsed.figures] == [(1, "Figure.")]
    assert _near(parsed.figures[0], truth)


async def test_without_captions_the_large_picture_is_the_key_figure_not_the_logo(
    tmp_path: Path,
) -> None:
    parsed, truth = await _parse_made(tmp_path, uncaptioned_paper)
    assert [(f.number, f.page, f.caption) for f in parsed.figures] == [(0, 1, "")]
    assert _near(parsed.figures[0], truth)


def _pixels(figure: Figure) -> pymupdf.Pixmap:
    return pymupdf.Pixmap(figure.image)


@pytest.mark.parametrize("name", TESTED)
def test_crops_are_pictures_of_the_figure_within_telegram_limits(
    parsed: dict[str, Parsed], name: str
) -> None:
    page_width, page_height = EXPECTED[name]["page_size_pt"]
    for figure in parsed[name].figures:
        x0, y0, x1, y1 = figure.bbox
        assert (x1 - x0) * (y1 - y0) < 0.6 * page_width * page_height, "not a whole page"
        pixmap = _pixels(figure)
        width, height = pixmap.width, pixmap.height
        assert len(figure.image) <= 10_000_000
        assert width + height <= 10_000 and max(width / height, height / width) <= 20
        assert width >= 600 or height >= 600, "readable on a phone"
        assert abs(width / height - (x1 - x0) / (y1 - y0)) < 0.3 * width / height
        samples = pixmap.samples
        dark = sum(1 for value in samples[:: pixmap.n * 7] if value < 200)
        assert dark > len(samples[:: pixmap.n * 7]) * 0.01, f"figure {figure.number} is blank"


def test_fulltext_keeps_sections_in_reading_order_and_drops_references(
    parsed: dict[str, Parsed],
) -> None:
    text = parsed["acl2020_s2orc_2020.acl-main.447.pdf"].text
    assert text is not None
    assert text.startswith("S2ORC: The Semantic Scholar Open Research Corpus")
    positions = [text.index(s) for s in ("\n\nAbstract\n\n", "1 Introduction", "Conclusion")]
    assert positions == sorted(positions)
    assert "\n\nReferences" not in text and "Waleed Ammar" not in text
    assert "Figure 1: Inline citations" not in text, "captions are left out"
    chi = parsed["chi2023_citesee_2302.07302v1.pdf"].text or ""
    assert "between all inline citations and the citing paper, only a subset of them" in chi
    assert "arXiv:2302.07302v1" not in chi, "the side stamp is left out"
    papermage = parsed["emnlp2023demo_papermage.pdf"].text or ""
    assert "Revolt creates labels" not in papermage, "text inside figures is left out"


async def test_text_hidden_from_readers_is_left_out_and_counted(tmp_path: Path) -> None:
    hidden_injection_paper(tmp_path / "paper.pdf")
    pdf = (tmp_path / "paper.pdf").read_bytes()
    parsed = await parse_into(PdfCache(tmp_path / "cache"), "injected", pdf)
    assert parsed.text is not None and parsed.text.startswith("Running text of the paper")
    assert "IGNORE" not in parsed.text.upper() and "hidden" not in parsed.text
    letters_hidden = sum(c.isalpha() for c in INJECTION) * len(HIDING_WAYS)
    assert parsed.hidden_chars >= letters_hidden
    assert parsed.hides_text


def test_papers_without_hidden_text_are_not_flagged(parsed: dict[str, Parsed]) -> None:
    assert {name: p.hidden_chars for name, p in parsed.items() if p.hides_text} == {}


def test_fulltext_is_bounded(parsed: dict[str, Parsed]) -> None:
    for name in TESTED:
        assert len(parsed[name].text or "") <= MAX_CHARS


BAD_PDFS = {
    "truncated": (lambda tmp: truncated(), "truncated PDF"),
    "not a PDF": (lambda tmp: b"<!DOCTYPE html><html>arXiv</html>", "not a PDF"),
    "encrypted": (encrypted, "encrypted PDF"),
}


@pytest.mark.parametrize("case", BAD_PDFS)
async def test_unreadable_pdf_gives_a_reason(tmp_path: Path, case: str) -> None:
    make, reason = BAD_PDFS[case]
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(make(tmp_path))
    with pytest.raises(ParseFailed, match=reason):
        await parse_pdf(pdf, tmp_path, Limits(seconds=20))
    assert not (tmp_path / "result.json").exists()


async def test_a_pdf_that_eats_memory_is_stopped(tmp_path: Path) -> None:
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(span_flood(200_000))
    with pytest.raises(ParseFailed, match=r"out of memory \(limit 256 MB\)"):
        await parse_pdf(pdf, tmp_path, Limits(seconds=30, memory_mb=256))


async def test_a_pdf_that_keeps_the_parser_busy_is_stopped(tmp_path: Path) -> None:
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(span_flood(1_000_000))
    with pytest.raises(ParseFailed, match=r"longer than 0.5s|CPU limit"):
        await parse_pdf(pdf, tmp_path, Limits(seconds=0.5, memory_mb=4096))


def _workers_on(pdf: Path) -> list[str]:
    """Processes whose command line names `pdf`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(pdf).encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:
            continue
    return found


async def test_a_cancelled_parse_leaves_no_worker_behind(tmp_path: Path) -> None:
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(span_flood(1_000_000))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(parse_pdf(pdf, tmp_path, Limits(seconds=60)), 0.5)
    assert _workers_on(pdf) == []
