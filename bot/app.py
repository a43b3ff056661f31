"""Wiring of the core: settings → store, arXiv source, summarizer, figures → service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.config import ConfigError, Settings
from bot.figures.cache import PdfCache
from bot.figures.source import PdfFigures
from bot.service import PaperService
from bot.summarize import Summarizer
from bot.summarize.extractive import ExtractiveSummarizer
from storage.database import Store

log = logging.getLogger(__name__)


def make_summarizer(settings: Settings) -> Summarizer:
    """The summarizer `PAPERBOT_LLM` asks for (language models arrive in a later release)."""
    backend = settings.llm_backend
    if backend == "none":
        return ExtractiveSummarizer()
    if settings.llm == "auto":
        log.warning("%s summaries are not available yet; using extractive summaries", backend)
        return ExtractiveSummarizer()
    raise ConfigError(f"PAPERBOT_LLM={backend!r} is not available yet; use none or auto")


@asynccontextmanager
async def open_service(settings: Settings) -> AsyncIterator[PaperService]:
    """A ready service; its database and HTTP connections close on exit."""
    summarizer = make_summarizer(settings)
    store = Store(settings.db_path)
    client = ArxivClient(settings)
    figures = PdfFigures(client, PdfCache(settings.pdf_cache_dir))
    try:
        yield PaperService(settings, store, ArxivSource(client), summarizer, figures)
    finally:
        await client.aclose()
        store.close()
