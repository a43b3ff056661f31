"""Wiring of the core: settings → store, arXiv source, summarizer, figures → services.

`App` holds the services, each with one job (chats, papers and cards,
polling, relevance, the outbox, run reports), built by `build_app` on one store and one clock.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.chats import Chats
from bot.clock import Clock, utc_now
from bot.config import ConfigError, Settings
from bot.figures import FigureSource
from bot.figures.cache import PdfCache
from bot.figures.source import PdfFigures
from bot.outbox import Outbox
from bot.papers import Papers
from bot.polling import Poller
from bot.ranking import Relevance
from bot.relevance import default_featurizer
from bot.run_reports import RunReports
from bot.summaries import SummaryCache
from bot.summarize import Summarizer
from bot.summarize.budget import RequestBudget
from bot.summarize.extractive import ExtractiveSummarizer
from bot.summarize.llm import ChatModel, LanguageModelSummarizer
from bot.summary_plan import SummaryPlanner
from storage.database import Store

log = logging.getLogger(__name__)


def make_summarizer(settings: Settings, store: Store | None = None) -> Summarizer:
    """The summarizer `PAPERBOT_LLM` asks for: `auto` takes Gemini when `GEMINI_API_KEY`
    is set, else an OpenAI-compatible server when `OPENAI_API_KEY` or `OPENAI_BASE_URL`
    is, else the extractive summarizer (offline). A language model's requests stay within
    `settings.llm_budget`, counted in `store` (in memory only when None). The SDKs are
    imported only when used, so offline runs do not pay for loading them."""
    backend = settings.llm_backend
    if backend == "gemini":
        from bot.summarize.gemini import GeminiModel

        if not (settings.gemini_api_key or settings.gemini_base_url):
            raise ConfigError("PAPERBOT_LLM=gemini needs GEMINI_API_KEY (or GEMINI_BASE_URL)")
        model: ChatModel = GeminiModel(
            settings.llm_model, settings.gemini_api_key, settings.gemini_base_url
        )
    elif backend == "openai":
        from bot.summarize.openai_compat import OpenAICompatibleModel

        if not (settings.openai_api_key or settings.openai_base_url):
            raise ConfigError("PAPERBOT_LLM=openai needs OPENAI_API_KEY or OPENAI_BASE_URL")
        model = OpenAICompatibleModel(
            settings.llm_model, settings.openai_api_key, settings.openai_base_url
        )
    else:
        return ExtractiveSummarizer()
    log.info("summaries by %s (%s)", settings.llm_model, backend)
    budget = RequestBudget(settings.llm_budget, store=store)
    return LanguageModelSummarizer(model, settings.llm_model, budget=budget)


@dataclass
class App:
    """The core's services, for the adapters, the CLI and the scheduler."""

    settings: Settings
    store: Store
    summaries: SummaryCache
    chats: Chats
    papers: Papers
    polling: Poller
    relevance: Relevance
    outbox: Outbox
    planner: SummaryPlanner
    reports: RunReports


def build_app(
    settings: Settings,
    store: Store,
    source: ArxivSource,
    summarizer: Summarizer,
    figures: FigureSource,
    clock: Clock = utc_now,
) -> App:
    """The services on one store and one clock."""
    summaries = SummaryCache(store, summarizer, figures.fulltext, clock)
    chats = Chats(store, settings.language, clock)
    papers = Papers(store, source, summaries, figures, settings.arxiv_pdf_url, clock)
    relevance = Relevance(store, clock, default_featurizer)
    return App(
        settings=settings,
        store=store,
        summaries=summaries,
        chats=chats,
        papers=papers,
        polling=Poller(store, source, clock),
        relevance=relevance,
        outbox=Outbox(store, papers, chats, relevance, clock),
        reports=RunReports(store, chats, settings, clock),
        planner=SummaryPlanner(store, relevance, summaries, clock),
    )


@asynccontextmanager
async def open_app(settings: Settings) -> AsyncIterator[App]:
    """The ready services; their database and HTTP connections close on exit."""
    store = Store(settings.db_path)
    try:
        summarizer = make_summarizer(settings, store)
    except ConfigError:
        store.close()
        raise
    client = ArxivClient(settings)
    figures = PdfFigures(client, PdfCache(settings.pdf_cache_dir))
    try:
        yield build_app(settings, store, ArxivSource(client), summarizer, figures)
    finally:
        await summarizer.aclose()
        await client.aclose()
        store.close()
