"""Summaries through the app with a language model (the fake Gemini server): one call
per key, shared by every chat; fallback to extractive when the model fails, upgraded on a
later poll while a chat will still see it; what is stored and counted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App, build_app, make_summarizer
from bot.arxiv.client import ArxivClient
from bot.arxiv.ids import parse_arxiv_id
from bot.arxiv.source import ArxivSource
from bot.config import ConfigError, Settings
from bot.figures import NoFigures
from bot.models import Chat, Paper
from bot.runner import cycle
from bot.stats import stats as gather_stats
from bot.summaries import MODEL_PAUSE, UPGRADE_DELAY
from bot.summarize.clean import clean
from bot.summarize.extractive import ExtractiveSummarizer, summarize_abstract
from bot.summarize.gemini import GeminiModel
from bot.summarize.llm import MODEL_POLICY, LanguageModelSummarizer
from bot.summarize.openai_compat import OpenAICompatibleModel
from handlers.render import card_text
from storage.database import Store
from storage.papers import SummaryRows
from tests.conftest import SleepLog
from tests.fake_arxiv import FakeArxiv, make_paper
from tests.fake_llm import CHINESE_DRAFT, GEMINI_KEY, FakeGemini, FakeOpenAI, draft
from tests.sim import FakeClock
from tests.test_service import RecordingPlatform, follow

MODEL = "gemini-2.5-flash"
AT = "2026-11-16T08:00:00+00:00"


@pytest.fixture
async def app(
    settings: Settings,
    store: Store,
    client: ArxivClient,
    fake_gemini: FakeGemini,
    sleeps: SleepLog,
    clock: FakeClock,
) -> AsyncIterator[App]:
    model = GeminiModel(MODEL, GEMINI_KEY, fake_gemini.base)
    summarizer = LanguageModelSummarizer(model, MODEL, sleep=sleeps)
    yield build_app(settings, store, ArxivSource(client), summarizer, NoFigures(), clock)
    await summarizer.aclose()


@pytest.fixture
async def paper(app: App, fake_arxiv: FakeArxiv) -> Paper:
    fake_arxiv.papers = [make_paper(1)]
    return await app.papers.paper(parse_arxiv_id("2511.00001"))


def stored(store: Store, language: str = "en") -> dict:
    row = store.rows(SummaryRows).summary("2511.00001", 1, language, MODEL)
    assert row is not None
    return row


async def test_a_cached_summary_makes_no_request(
    app: App, paper: Paper, fake_gemini: FakeGemini, store: Store
) -> None:
    fake_gemini.then(draft(), CHINESE_DRAFT)
    first = await app.papers.card(paper, "en")
    second = await app.papers.card(paper, "en")
    assert first.summary == second.summary and first.summary.model == MODEL
    assert len(fake_gemini.requests) == 1
    await app.papers.card(paper, "zh")  # another language is another summary
    assert len(fake_gemini.requests) == 2

    stats = await gather_stats(app.store)
    assert (stats["model_calls"], stats["tokens_in"]) == (2, 2400)
    assert stats["tokens_out"] > 0 and stats["summary_cache_hits"] == 1
    row = stored(store)
    assert (row["grounding"], row["retry_at"], row["hits"]) == ("passed", None, 1)
    assert json.loads(row["checks"]) == {"draft": [], "final": []}


async def test_a_listed_paper_costs_no_request_until_someone_opens_it(
    app: App, paper: Paper, fake_gemini: FakeGemini, store: Store
) -> None:
    listed = await app.papers.listed(paper, "en")
    assert listed.tldr == clean(summarize_abstract(paper)).tldr
    assert fake_gemini.requests == []
    assert store.rows(SummaryRows).summary("2511.00001", 1, "en", MODEL) is None  # not stored

    fake_gemini.then(draft())
    card = await app.papers.known_card("2511.00001", "en")
    assert card.summary.model == MODEL and len(fake_gemini.requests) == 1
    again = await app.papers.listed(paper, "en")
    assert again.tldr == card.summary.tldr and len(fake_gemini.requests) == 1


async def test_concurrent_requests_for_one_paper_make_one_call(
    app: App, paper: Paper, fake_gemini: FakeGemini
) -> None:
    summaries = await asyncio.gather(*(app.summaries.summary(paper, "en") for _ in range(4)))
    assert len(fake_gemini.requests) == 1
    assert all(s == summaries[0] for s in summaries) and summaries[0].model == MODEL


async def test_grounding_outcome_is_stored(
    app: App, paper: Paper, fake_gemini: FakeGemini, store: Store
) -> None:
    fake_gemini.then(draft(results="It outperforms prior work by 4.7 points."), draft())
    summary = await app.summaries.summary(paper, "en")
    assert summary.results == draft()["results"]
    row = stored(store)
    assert row["grounding"] == "repaired"
    assert json.loads(row["checks"]) == {"draft": ["number:results"], "final": []}
    assert (await gather_stats(app.store))["summaries_repaired"] == 1


async def daily_chat_waiting(app: App, fake_arxiv: FakeArxiv, *numbers: int) -> Chat:
    """A daily chat (digest at 18:00 UTC, after the clock's start) with papers waiting."""
    fake_arxiv.feeds["cs.CV"] = [make_paper(n) for n in numbers]
    chat = await follow(app, "d", "cs.CV")
    for name, value in (("mode", "daily"), ("time", "18:00")):
        chat = await app.chats.change_setting(chat, name, value)
    await app.polling.poll()
    return chat


async def test_a_429_falls_back_then_the_card_still_to_send_is_upgraded_on_a_later_poll(
    app: App, fake_arxiv: FakeArxiv, fake_gemini: FakeGemini, store: Store, clock: FakeClock
) -> None:
    await daily_chat_waiting(app, fake_arxiv, 1)
    fake_gemini.then(fake_gemini.rate_limited("3600s"))
    platform = RecordingPlatform()
    await cycle(app, {"test": platform})  # the digest is due at 18:00: summarized ahead
    assert platform.digests == [] and len(fake_gemini.requests) == 1
    row = stored(store)
    assert row["grounding"] == "fallback" and "429" in row["error"]
    assert datetime.fromisoformat(row["retry_at"]) == clock.now + timedelta(hours=1)

    clock.now += timedelta(minutes=59)
    await cycle(app, {"test": platform})
    assert len(fake_gemini.requests) == 1  # not asked again before the retry time

    clock.now += timedelta(minutes=2)
    await cycle(app, {"test": platform})
    assert len(fake_gemini.requests) == 2
    row = stored(store)
    assert (row["grounding"], row["retry_at"], row["attempts"]) == ("passed", None, 0)
    assert (await gather_stats(app.store))["summaries_to_upgrade"] == 0
    clock.now = clock.now.replace(hour=18, minute=1)
    await cycle(app, {"test": platform})
    (card,) = platform.made
    assert (card.summary.source, card.summary.model) == ("abstract", MODEL)
    assert len(fake_gemini.requests) == 2


async def test_a_failing_model_never_blocks_delivery_of_other_papers(
    app: App,
    fake_arxiv: FakeArxiv,
    fake_gemini: FakeGemini,
    store: Store,
    clock: FakeClock,
) -> None:
    fake_arxiv.feeds["cs.CV"] = [make_paper(1), make_paper(2), make_paper(3)]
    await follow(app, "c", "cs.CV")
    await app.polling.poll()
    fake_gemini.then(*[fake_gemini.server_error()] * MODEL_POLICY.attempts)
    platform = RecordingPlatform()
    report = await app.outbox.deliver_due({"test": platform})

    assert report.failed == [] and len(platform.cards) == 3
    assert len(fake_gemini.requests) == MODEL_POLICY.attempts  # the others did not wait
    stats = await gather_stats(app.store)
    assert (stats["summaries_fallback"], stats["summaries_to_upgrade"]) == (3, 3)
    assert stats["model_errors"] == MODEL_POLICY.attempts

    clock.now += max(UPGRADE_DELAY, MODEL_PAUSE)
    await cycle(app, {"test": platform})
    assert len(fake_gemini.requests) == MODEL_POLICY.attempts  # sent cards: nobody to see it
    assert len(platform.cards) == 3  # and a card is not sent again
    card = await app.papers.known_card("2511.00001", "en")  # someone opens it: asked now
    assert card.summary.model == MODEL and len(fake_gemini.requests) == MODEL_POLICY.attempts + 1


async def test_a_model_failing_again_is_retried_later_and_later_then_left(
    app: App, paper: Paper, fake_gemini: FakeGemini, store: Store, clock: FakeClock
) -> None:
    delays = []
    for _ in range(5):
        fake_gemini.then(fake_gemini.rate_limited("3600s"))
        clock.now += timedelta(days=1)
        await app.summaries.summary(paper, "en")
        row = stored(store)
        delays.append(row["retry_at"] and datetime.fromisoformat(row["retry_at"]) - clock.now)
    hour = timedelta(hours=1)
    assert delays == [hour, hour, 2 * hour, 4 * hour, None]  # then extractive for good
    clock.now += timedelta(days=1)
    await app.summaries.summary(paper, "en")
    assert len(fake_gemini.requests) == 5


async def test_a_blocked_summary_falls_back_for_good(
    app: App, paper: Paper, fake_gemini: FakeGemini, store: Store, clock: FakeClock
) -> None:
    fake_gemini.then(fake_gemini.answer_blocked(), fake_gemini.answer_blocked())
    assert (await app.summaries.summary(paper, "en")).source == "extractive"
    row = stored(store)
    assert (row["grounding"], row["retry_at"]) == ("fallback", None)
    assert "answer blocked (SAFETY)" in row["error"]
    clock.now += timedelta(days=2)
    assert await app.summaries.to_make([(paper, "en")]) == []  # never asked again
    assert len(fake_gemini.requests) == 2


async def test_a_changed_prompt_makes_a_new_summary(
    app: App, paper: Paper, fake_gemini: FakeGemini, store: Store
) -> None:
    await app.summaries.summary(paper, "en")
    app.summaries.summarizer.prompt_version = "edited"
    await app.summaries.summary(paper, "en")
    await app.summaries.summary(paper, "en")
    assert len(fake_gemini.requests) == 2
    assert stored(store)["prompt_version"] == "edited"


def test_the_summarizer_follows_paperbot_llm(tmp_path: Path) -> None:
    def pick(**env: str) -> object:
        return make_summarizer(Settings.from_env(env, None))

    gemini = pick(GEMINI_API_KEY="k", OPENAI_API_KEY="o", PAPERBOT_LLM_MODEL="gemini-2.5-pro")
    assert isinstance(gemini, LanguageModelSummarizer) and gemini.model == "gemini-2.5-pro"
    assert isinstance(gemini.backend, GeminiModel)
    local = pick(OPENAI_BASE_URL="http://127.0.0.1:11434/v1", PAPERBOT_LLM_MODEL="llama3")
    assert isinstance(local, LanguageModelSummarizer) and local.model == "llama3"
    assert isinstance(local.backend, OpenAICompatibleModel)
    assert isinstance(pick(OPENAI_API_KEY="o"), LanguageModelSummarizer)
    assert isinstance(pick(), ExtractiveSummarizer)
    assert isinstance(pick(GEMINI_API_KEY="k", PAPERBOT_LLM="none"), ExtractiveSummarizer)
    with pytest.raises(ConfigError, match="PAPERBOT_LLM=gemini needs GEMINI_API_KEY"):
        pick(PAPERBOT_LLM="gemini", OPENAI_API_KEY="o")
    with pytest.raises(ConfigError, match="PAPERBOT_LLM=openai needs"):
        pick(PAPERBOT_LLM="openai")


async def test_openai_compatible_backend_through_the_service(
    settings: Settings,
    store: Store,
    client: ArxivClient,
    fake_openai: FakeOpenAI,
    fake_arxiv: FakeArxiv,
) -> None:
    summarizer = make_summarizer(Settings.from_env(fake_openai.env, None))
    app = build_app(settings, store, ArxivSource(client), summarizer, NoFigures())
    fake_arxiv.papers = [make_paper(1)]
    paper = await app.papers.paper(parse_arxiv_id("2511.00001"))
    await app.summaries.summary(paper, "en")
    await app.summaries.summary(paper, "en")
    await summarizer.aclose()
    assert len(fake_openai.requests) == 1
    assert (await gather_stats(app.store))["summary_cache_hits"] == 1


async def test_a_made_summary_is_cleaned_before_it_is_stored(
    app: App, paper: Paper, fake_gemini: FakeGemini, store: Store
) -> None:
    fake_gemini.then(draft(method=draft()["tldr"]))  # passes grounding, repeats the TL;DR
    summary = await app.summaries.summary(paper, "en")
    assert summary.method == "" and summary.results == draft()["results"]
    assert json.loads(stored(store)["checks"]) == {"draft": [], "final": []}
    assert json.loads(stored(store)["data"]) == summary.model_dump()


async def test_a_stored_summary_is_cleaned_when_it_is_read_back(
    app: App, paper: Paper, fake_gemini: FakeGemini, store: Store
) -> None:
    made = await app.summaries.summary(paper, "en")
    row = stored(store)
    old = {**made.model_dump(), "limitations": "xxx", "takeaways": [*made.takeaways, "N/A"]}
    run = {"prompt_version": row["prompt_version"], "retry_at": None}
    store.rows(SummaryRows).save_summary(
        paper.id, paper.version, "en", MODEL, made.source, old, AT, run=run
    )
    again = await app.summaries.summary(paper, "en")
    assert len(fake_gemini.requests) == 1
    assert again == made and again.limitations == ""
    assert "N/A" not in card_text(await app.papers.card(paper, "en"))
