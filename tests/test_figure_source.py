"""`PdfFigures` against the fake arXiv: one download and parse per version, the key
figure on the card, the full text to the summarizer, and every failure a card without
a figure plus a logged reason."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.app import build_app
from bot.arxiv.client import ArxivClient
from bot.arxiv.ids import parse_arxiv_id
from bot.arxiv.source import ArxivSource
from bot.config import Settings
from bot.figures.cache import Failed, PdfCache
from bot.figures.source import PdfFigures, key_figure_first
from bot.models import Figure, Paper, Summary
from bot.retry import RetryPolicy
from bot.summarize.base import SummaryRun
from bot.summarize.extractive import ExtractiveSummarizer
from storage.database import Store
from tests.conftest import SleepLog
from tests.fake_arxiv import HTML_PAGE, FakeArxiv, Scripted, make_paper
from tests.pdf_samples import INJECTION, fixture_bytes, hidden_injection_paper, truncated

VID = "2511.00001v1"


def paper(number: int = 1, version: int = 1) -> Paper:
    when = datetime(2025, 11, 3, tzinfo=UTC)
    return Paper(
        id=f"2511.{number:05d}",
        version=version,
        title="Literature graph",
        authors=("Waleed Ammar",),
        abstract="We build a graph.",
        categories=("cs.CL",),
        primary_category="cs.CL",
        published=when,
        updated=when,
    )


@pytest.fixture
def cache(tmp_path: Path) -> PdfCache:
    return PdfCache(tmp_path / "pdf-cache")


@pytest.fixture
def figures(client: ArxivClient, cache: PdfCache) -> PdfFigures:
    return PdfFigures(client, cache)


async def test_one_download_and_parse_give_figures_and_text(
    figures: PdfFigures, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.pdfs[VID] = fixture_bytes()
    found, text, again = await asyncio.gather(
        figures.figures(paper()), figures.fulltext(paper()), figures.figures(paper())
    )
    assert [(f.number, f.page) for f in found] == [(1, 1)]
    assert found[0].caption == "Figure 1: Part of the literature graph."
    assert found[0].image.startswith(b"\x89PNG") and found[0].mime_type == "image/png"
    assert again == found
    assert text is not None and "literature graph" in text
    assert await figures.fulltext(paper()) == text
    assert fake_arxiv.pdf_requests() == [VID]


async def test_each_version_is_its_own_pdf(figures: PdfFigures, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.pdfs[VID] = fixture_bytes()
    fake_arxiv.pdfs["2511.00001v2"] = fixture_bytes(
        "arxiv2023_beyond_summarization_2304.02623v1.pdf"
    )
    first = await figures.figures(paper(version=1))
    second = await figures.figures(paper(version=2))
    assert first[0].caption.startswith("Figure 1: Part of the literature graph")
    assert second[0].caption.startswith("Figure 1: Dissecting an expository writing piece")
    assert fake_arxiv.pdf_requests() == [VID, "2511.00001v2"]


async def test_a_pdf_hiding_text_is_flagged_and_its_hidden_text_left_out(
    figures: PdfFigures, fake_arxiv: FakeArxiv, tmp_path: Path
) -> None:
    hidden_injection_paper(tmp_path / "injected.pdf")
    fake_arxiv.pdfs[VID] = (tmp_path / "injected.pdf").read_bytes()
    fake_arxiv.pdfs["2511.00001v2"] = fixture_bytes()
    text = await figures.fulltext(paper())
    assert text is not None and INJECTION not in text
    assert await figures.hides_text(paper())
    assert not await figures.hides_text(paper(version=2))


def test_key_figure_is_figure_one_else_the_first() -> None:
    def numbered(*numbers: int) -> list[Figure]:
        return [Figure(number=n, page=1, caption=f"Figure {n}", image=b"") for n in numbers]

    assert [f.number for f in key_figure_first(numbered(3, 1, 2))] == [1, 2, 3]
    assert [f.number for f in key_figure_first(numbered(4, 2))] == [2, 4]


FAILURES = {
    "withdrawn": (Scripted(404, b"Not Found"), "no PDF (HTTP 404): withdrawn"),
    "HTML instead of PDF": (
        Scripted(200, HTML_PAGE, {"Content-Type": "text/html; charset=utf-8"}),
        "not a PDF (text/html)",
    ),
    "truncated": (Scripted(200, truncated()), "truncated PDF"),
    "not a PDF at all": (Scripted(200, b"%PDX" + b"x" * 2000), "not a PDF"),
}


@pytest.mark.parametrize("case", FAILURES)
async def test_no_usable_pdf_means_no_figure_a_logged_reason_and_no_retry(
    figures: PdfFigures, fake_arxiv: FakeArxiv, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    answer, reason = FAILURES[case]
    fake_arxiv.pdf_script.append(answer)
    with caplog.at_level(logging.WARNING, logger="bot.figures"):
        assert await figures.figures(paper()) == []
    assert await figures.fulltext(paper()) is None
    assert f"no figures for {VID}: {reason}" in caplog.text
    assert fake_arxiv.pdf_requests() == [VID], "remembered, not fetched again"


async def test_rate_limits_and_server_errors_are_retried(
    figures: PdfFigures, fake_arxiv: FakeArxiv, sleeps: SleepLog
) -> None:
    fake_arxiv.pdfs[VID] = fixture_bytes()
    fake_arxiv.pdf_script.extend([Scripted(429, headers={"Retry-After": "5"}), Scripted(503)])
    assert [f.number for f in await figures.figures(paper())] == [1]
    assert len(fake_arxiv.pdf_requests()) == 3
    assert sleeps.waits[0] == 5.0


async def test_arxiv_down_gives_no_figure_now_and_is_tried_again_later(
    figures: PdfFigures, fake_arxiv: FakeArxiv, caplog: pytest.LogCaptureFixture
) -> None:
    fake_arxiv.pdfs[VID] = fixture_bytes()
    fake_arxiv.pdf_script.extend([Scripted(502)] * 3)
    with caplog.at_level(logging.WARNING, logger="bot.figures"):
        assert await figures.figures(paper()) == []
    assert f"no figures for {VID} for now: arXiv PDF {VID}: HTTP 502" in caplog.text
    assert [f.number for f in await figures.figures(paper())] == [1]
    assert len(fake_arxiv.pdf_requests()) == 4


async def test_a_slow_server_is_given_up_on(
    settings: Settings, fake_arxiv: FakeArxiv, cache: PdfCache, sleeps: SleepLog
) -> None:
    fake_arxiv.pdf_script.extend([Scripted(200, fixture_bytes(), delay=1.0)] * 2)
    http = httpx.AsyncClient(timeout=httpx.Timeout(0.2))
    client = ArxivClient(settings, http, policy=RetryPolicy(attempts=2), sleep=sleeps)
    try:
        assert await PdfFigures(client, cache).figures(paper()) == []
    finally:
        await client.aclose()
    assert len(fake_arxiv.pdf_requests()) == 2


async def test_a_pdf_over_the_size_limit_is_not_downloaded(
    client: ArxivClient, cache: PdfCache, fake_arxiv: FakeArxiv, caplog: pytest.LogCaptureFixture
) -> None:
    fake_arxiv.pdfs[VID] = fixture_bytes()
    huge = PdfFigures(client, cache, max_pdf_bytes=100_000)
    with caplog.at_level(logging.WARNING, logger="bot.figures"):
        assert await huge.figures(paper()) == []
    assert "is over the limit" in caplog.text


async def test_figure_source_never_raises(
    figures: PdfFigures, fake_arxiv: FakeArxiv, cache: PdfCache, caplog: pytest.LogCaptureFixture
) -> None:
    fake_arxiv.pdfs[VID] = fixture_bytes()
    cache.root.write_text("a file where the cache directory should be")
    with caplog.at_level(logging.ERROR, logger="bot.figures"):
        assert await figures.figures(paper()) == []
        assert await figures.fulltext(paper()) is None
    assert f"figures of {VID} failed unexpectedly" in caplog.text


def _entry(cache: PdfCache, vid: str, size: int, used: float) -> Path:
    entry = cache.entry(vid)
    entry.mkdir(parents=True)
    (entry / "result.json").write_text(json.dumps({"pages": 1, "figures": []}))
    (entry / "text.txt").write_text("x" * size)
    os.utime(entry, (used, used))
    return entry


def test_cache_evicts_the_least_recently_used_past_its_cap(tmp_path: Path) -> None:
    cache = PdfCache(tmp_path / "cache", max_bytes=25_000)
    old = _entry(cache, "2511.00001v1", 10_000, 1_000)
    used = _entry(cache, "2511.00002v1", 10_000, 2_000)
    new = _entry(cache, "2511.00003v1", 10_000, 3_000)
    assert cache.load("2511.00002v1") is not None  # reading marks it as used
    cache.evict()
    assert not old.exists() and used.exists() and new.exists()
    assert cache.load("2511.00001v1") is None


def test_a_failed_download_is_remembered_for_a_day_only(cache: PdfCache) -> None:
    cache.fail("2511.00001v1", cache.work_dir(), "no PDF (HTTP 404)", permanent=False)
    cache.fail("2511.00002v1", cache.work_dir(), "encrypted PDF", permanent=True)
    later = datetime.now(UTC).timestamp() + 2 * 86400
    assert cache.load("2511.00001v1") == Failed("no PDF (HTTP 404)")
    assert cache.load("2511.00001v1", now=later) is None
    assert cache.load("2511.00002v1", now=later) == Failed("encrypted PDF")
    assert [p.name for p in cache.root.iterdir()] == ["2511.00002v1"]


class RecordingSummarizer(ExtractiveSummarizer):
    reads_fulltext = True

    def __init__(self) -> None:
        self.fulltexts: list[str | None] = []

    async def summarize(
        self,
        paper: Paper,
        language: str,
        fulltext: str | None = None,
        run: SummaryRun | None = None,
    ) -> Summary:
        self.fulltexts.append(fulltext)
        return await super().summarize(paper, language, fulltext, run)


async def test_card_shows_figure_one_and_the_summarizer_reads_the_paper(
    settings: Settings,
    store: Store,
    client: ArxivClient,
    figures: PdfFigures,
    fake_arxiv: FakeArxiv,
) -> None:
    fake_arxiv.papers = [make_paper(1, title="Literature graph")]
    fake_arxiv.pdfs[VID] = fixture_bytes("acl2020_specter_2020.acl-main.207.pdf")
    summarizer = RecordingSummarizer()
    app = build_app(settings, store, ArxivSource(client), summarizer, figures)
    found = await app.papers.paper(parse_arxiv_id("2511.00001"))
    card = await app.papers.card(found, "en")
    assert card.figure is not None and card.figure.number == 1 and card.figure.page == 2
    assert card.figure.caption == "Figure 1: Overview of SPECTER."
    assert summarizer.fulltexts[0] is not None and "SPECTER" in summarizer.fulltexts[0]
    assert (await app.papers.card(found, "zh", figures=False)).figure is None
    assert fake_arxiv.pdf_requests() == [VID]
