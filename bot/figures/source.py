"""`PdfFigures`: the paper's figures and full text from its arXiv PDF.

One download and one parse per paper version give both the figures and the
text, kept in the on-disk cache (`PdfCache`) and shared by every chat;
concurrent requests for the same version wait for the one in flight. Parsing
runs in the sandboxed worker, one at a time (CPU is shared with the bot).

Never raises: a paper without a usable PDF (withdrawn, HTML only, too big,
unreadable, too slow to parse) has no figures and no text, and the reason is
logged. A failed download (arXiv down) is not remembered, so it is tried
again next time; a bad PDF is remembered (the same bytes fail the same way).

The key figure: figure 1 (the teaser) when the paper has one, else the
lowest-numbered figure; `figures()` returns it first (`key_figure_first`).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.arxiv.client import PDF_MAX_BYTES, ArxivClient, PdfUnavailable
from bot.figures.cache import PDF, Failed, Parsed, PdfCache
from bot.figures.sandbox import Limits, ParseFailed, parse_pdf
from bot.models import Figure, Paper
from bot.retry import ServiceUnavailable

log = logging.getLogger(__name__)

KEY_FIGURE = 1


def key_figure_first(figures: list[Figure]) -> list[Figure]:
    """Figures in number order, the key figure (figure 1, the teaser) first."""
    return sorted(figures, key=lambda f: (f.number != KEY_FIGURE, f.number))


class PdfFigures:
    """Implements `FigureSource` with the arXiv PDF, a worker process and a disk cache."""

    def __init__(
        self,
        client: ArxivClient,
        cache: PdfCache,
        limits: Limits | None = None,
        max_pdf_bytes: int = PDF_MAX_BYTES,
    ) -> None:
        self.client = client
        self.cache = cache
        self.limits = limits or Limits()
        self.max_pdf_bytes = max_pdf_bytes
        self._locks: dict[str, asyncio.Lock] = {}
        self._parsing = asyncio.Semaphore(1)

    async def figures(self, paper: Paper) -> list[Figure]:
        parsed = await self._parsed(paper)
        return key_figure_first(parsed.figures) if parsed else []

    async def fulltext(self, paper: Paper) -> str | None:
        parsed = await self._parsed(paper)
        return parsed.text if parsed else None

    async def hides_text(self, paper: Paper) -> bool:
        parsed = await self._parsed(paper)
        return parsed is not None and parsed.hides_text

    async def _parsed(self, paper: Paper) -> Parsed | None:
        vid = paper.versioned_id
        lock = self._locks.setdefault(vid, asyncio.Lock())
        try:
            async with lock:
                cached = await asyncio.to_thread(self.cache.load, vid)
                if cached is None:
                    cached = await self._fetch_and_parse(vid)
        except Exception:  # the interface promises never to raise
            log.exception("figures of %s failed unexpectedly", vid)
            return None
        finally:
            if not lock.locked():
                self._locks.pop(vid, None)
        if isinstance(cached, Failed):
            log.debug("no figures for %s (cached): %s", vid, cached.reason)
            return None
        return cached

    async def _fetch_and_parse(self, vid: str) -> Parsed | Failed | None:
        """Download, parse and cache; None when arXiv could not be reached (not cached)."""
        work = await asyncio.to_thread(self.cache.work_dir)
        try:
            try:
                await self._download(vid, work / PDF)
            except PdfUnavailable as exc:
                return await self._failed(vid, work, str(exc), permanent=False)
            try:
                async with self._parsing:
                    await parse_pdf(work / PDF, work, self.limits)
            except ParseFailed as exc:
                return await self._failed(vid, work, str(exc), permanent=True)
            await asyncio.to_thread(self.cache.commit, vid, work)
        except ServiceUnavailable as exc:
            log.warning("no figures for %s for now: %s", vid, exc)
            return None
        finally:
            await asyncio.to_thread(self.cache.discard, work)
        parsed = await asyncio.to_thread(self.cache.load, vid)
        if isinstance(parsed, Parsed):
            log.info(
                "%s: %d figures, %d characters of text, %d hidden letters",
                vid,
                len(parsed.figures),
                len(parsed.text or ""),
                parsed.hidden_chars,
            )
        return parsed

    async def _download(self, vid: str, target: Path) -> None:
        pdf = await self.client.pdf(vid, self.max_pdf_bytes)
        await asyncio.to_thread(target.write_bytes, pdf)

    async def _failed(self, vid: str, work: Path, reason: str, *, permanent: bool) -> Failed:
        log.warning("no figures for %s: %s", vid, reason)
        await asyncio.to_thread(self.cache.fail, vid, work, reason, permanent=permanent)
        return Failed(reason)
