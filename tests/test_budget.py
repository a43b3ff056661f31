"""The model's request budget against the fake Gemini and OpenAI servers on a simulated
clock: never more than RPM in a minute or RPD in a provider day, a person before
background summaries, daily-quota answers pause the model until the reset, per-minute
answers are waited as the server says, and what `paperbot stats` shows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App, build_app
from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.chats import ChatRef
from bot.config import ConfigError, Settings
from bot.figures import NoFigures
from bot.models import Paper
from bot.stats import stats as gather_stats
from bot.summarize import PERSON
from bot.summarize.budget import GEMINI_RESET, BudgetLimits, NoBudget, QuotaReset, RequestBudget
from bot.summarize.gemini import GeminiModel
from bot.summarize.llm import ChatModel, LanguageModelSummarizer
from bot.summarize.openai_compat import OpenAICompatibleModel
from bot.topics import parse_topic
from storage.database import Store
from storage.outbox import DeliveryRows
from storage.papers import PaperRows, SummaryRows
from tests.fake_arxiv import FakeArxiv, make_paper
from tests.fake_llm import GEMINI_KEY, OPENAI_KEY, FakeGemini, FakeModelServer, FakeOpenAI
from tests.sim import FakeClock, SimSleep
from tests.test_service import RecordingPlatform

MODEL = "gemini-2.5-flash"
MONDAY = datetime(2026, 11, 16, 17, 0, tzinfo=UTC)  # 09:00 in California
NEXT_RESET = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)  # midnight Pacific (PST)


def paper(number: int) -> Paper:
    return Paper(
        f"2511.{number:05d}",
        1,
        f"A Study of Problem {number} with Neural Methods",
        ("Ada Lovelace",),
        f"Problem {number} is hard for existing methods. We propose a new method for it. "
        "Experiments show it outperforms prior work by 3.2 points. Code is released.",
        ("cs.CV",),
        "cs.CV",
        MONDAY,
        MONDAY,
    )


Backend = Callable[[FakeModelServer], ChatModel]


def gemini(server: FakeModelServer) -> ChatModel:
    return GeminiModel(MODEL, GEMINI_KEY, server.base)


def openai(server: FakeModelServer) -> ChatModel:
    return OpenAICompatibleModel(MODEL, OPENAI_KEY, f"{server.base}/v1")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY)


@pytest.fixture
def sim(clock: FakeClock) -> SimSleep:
    return SimSleep(clock)


class Bench:
    """The app with a budgeted language model on one fake server."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        client: ArxivClient,
        clock: FakeClock,
        sim: SimSleep,
    ) -> None:
        self.settings, self.store, self.client = settings, store, client
        self.clock, self.sim = clock, sim
        self.summarizers: list[LanguageModelSummarizer] = []

    def app(self, server: FakeModelServer, limits: BudgetLimits, backend: Backend = gemini) -> App:
        budget = RequestBudget(limits, self.clock, self.store, self.sim)
        summarizer = LanguageModelSummarizer(backend(server), MODEL, sleep=self.sim, budget=budget)
        self.summarizers.append(summarizer)
        source = ArxivSource(self.client)
        return build_app(self.settings, self.store, source, summarizer, NoFigures(), self.clock)

    def papers(self, count: int) -> list[Paper]:
        made = [paper(n) for n in range(1, count + 1)]
        self.store.rows(PaperRows).upsert_papers([p.to_row() for p in made], MONDAY.isoformat())
        return made

    async def waiting(self, app: App, papers: list[Paper]) -> None:
        """The papers wait for a daily chat's next digest (later today) as its cards."""
        chat = await app.chats.chat(ChatRef("test", "daily"))
        await app.chats.subscribe(chat, [parse_topic("cs.CV")])
        for name, value in (("mode", "daily"), ("time", "23:00")):
            chat = await app.chats.change_setting(chat, name, value)
        queued = [(chat.id, p.id, "cs.CV") for p in papers]
        self.store.rows(DeliveryRows).queue_deliveries(queued, MONDAY.isoformat())

    def grounding(self, number: int) -> str:
        row = self.store.rows(SummaryRows).summary(f"2511.{number:05d}", 1, "en", MODEL)
        assert row is not None
        return row["grounding"]


@pytest.fixture
async def bench(
    settings: Settings, store: Store, client: ArxivClient, clock: FakeClock, sim: SimSleep
) -> AsyncIterator[Bench]:
    made = Bench(settings, store, client, clock, sim)
    yield made
    for summarizer in made.summarizers:
        await summarizer.aclose()


def most_in_a_minute(times: list[datetime]) -> int:
    return max(sum(t <= s < t + timedelta(minutes=1) for s in times) for t in times)


def test_the_provider_day_resets_at_midnight_pacific_time() -> None:
    reset = GEMINI_RESET
    assert reset.day_start(MONDAY) == datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    assert reset.next_reset(MONDAY) == NEXT_RESET
    early = datetime(2026, 11, 16, 7, 59, tzinfo=UTC)  # 23:59 on Sunday in California
    assert reset.next_reset(early) == datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # PDT: midnight is 07:00 UTC
    assert reset.next_reset(summer) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
    dst_ends = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # a 25-hour provider day
    assert reset.next_reset(dst_ends) - reset.day_start(dst_ends) == timedelta(hours=25)
    utc = QuotaReset.parse("06:30")
    assert utc.next_reset(MONDAY) == datetime(2026, 11, 17, 6, 30, tzinfo=UTC)


def test_budget_settings_are_checked() -> None:
    def limits(**env: str) -> BudgetLimits:
        return Settings.from_env(env, None).llm_budget

    assert limits() == BudgetLimits(None, None, GEMINI_RESET)
    given = limits(PAPERBOT_LLM_RPM="10", PAPERBOT_LLM_RPD="250", PAPERBOT_LLM_RESET="01:00 UTC")
    assert (given.rpm, given.rpd, given.reset) == (10, 250, QuotaReset.parse("01:00 UTC"))
    with pytest.raises(ConfigError, match="PAPERBOT_LLM_RPM='ten' is not a positive"):
        limits(PAPERBOT_LLM_RPM="ten")
    with pytest.raises(ConfigError, match="PAPERBOT_LLM_RPD='0' is not a positive"):
        limits(PAPERBOT_LLM_RPD="0")
    bad_zone = Settings.from_env({"PAPERBOT_LLM_RESET": "00:00 Mars/Base"}, None)
    with pytest.raises(ConfigError, match="'Mars/Base' is not a time zone"):
        _ = bad_zone.llm_budget  # checked where it is used, not at start
    with pytest.raises(ConfigError, match="is not a time of day"):
        limits(PAPERBOT_LLM_RESET="midnight")


@pytest.mark.parametrize("backend", [gemini, openai])
async def test_never_more_than_rpm_a_minute_or_rpd_a_day(
    bench: Bench, clock: FakeClock, backend: Backend
) -> None:
    server = (FakeGemini if backend is gemini else FakeOpenAI)().start()
    try:
        server.limit(3, 5, clock)  # the provider's own limits: any excess is a 429
        app = bench.app(server, BudgetLimits(rpm=3, rpd=5), backend)
        papers = bench.papers(8)
        await bench.waiting(app, papers)
        summaries = await asyncio.gather(*(app.summaries.summary(p, "en") for p in papers))

        assert server.refused == 0 and len(server.requests) == 5
        assert server.quota is not None and most_in_a_minute(server.quota.accepted) <= 3
        assert sum(s.model == MODEL for s in summaries) == 5
        assert sorted(bench.grounding(n) for n in range(1, 9)).count("budget") == 3
        stats = await gather_stats(app.store, BudgetLimits(3, 5), clock.now)
        assert stats["papers_summarized_by_model"] == 5
        assert stats["summaries_extractive_for_budget"] == 3
        assert stats["summaries_to_upgrade"] == 3

        clock.now = NEXT_RESET  # a new day: the cards still to send get the model's
        assert await app.planner.run() == 3
        assert server.refused == 0 and len(server.requests) == 8
        assert (await gather_stats(app.store))["summaries_to_upgrade"] == 0
    finally:
        server.stop()


async def test_a_restart_keeps_the_days_count(
    bench: Bench, fake_gemini: FakeGemini, clock: FakeClock, store: Store
) -> None:
    limits = BudgetLimits(rpm=10, rpd=2)
    app = bench.app(fake_gemini, limits)
    for p in bench.papers(2):
        await app.summaries.summary(p, "en")
    clock.now += timedelta(hours=1)
    restarted = RequestBudget(limits, clock, store)
    with pytest.raises(NoBudget):
        await restarted.acquire()
    figures = await gather_stats(store, limits, clock.now)
    assert (figures["model_requests_today"], figures["model_requests_left_today"]) == (2, 0)
    assert figures["model_requests_this_minute"] == 0
    clock.now = NEXT_RESET
    await restarted.acquire()


async def test_a_persons_request_goes_before_background_ones(
    bench: Bench, fake_gemini: FakeGemini, sim: SimSleep
) -> None:
    app = bench.app(fake_gemini, BudgetLimits(rpm=1))
    first, background, other, wanted = bench.papers(4)
    await app.summaries.summary(first, "en")  # the minute is full
    sim.gate.clear()  # the background requests wait for the next minute
    queued = [asyncio.create_task(app.summaries.summary(p, "en")) for p in (background, other)]
    await sim.until_asked(1)
    person = asyncio.create_task(app.summaries.summary(wanted, "en", PERSON))
    await sim.until_asked(2)
    sim.gate.set()
    await asyncio.gather(person, *queued)

    titles = [fake_gemini.prompts(r)[0] for r in fake_gemini.requests]
    order = [next(n for n in (1, 2, 3, 4) if f"Problem {n} " in t) for t in titles]
    assert order[:2] == [1, 4] and sorted(order[2:]) == [2, 3]


async def test_background_summaries_leave_a_person_room_in_every_minute(
    bench: Bench, fake_gemini: FakeGemini, sim: SimSleep, clock: FakeClock
) -> None:
    app = bench.app(fake_gemini, BudgetLimits(rpm=4))
    papers = bench.papers(5)
    sim.gate.clear()  # nothing waits out its minute until the test says so
    background = [asyncio.create_task(app.summaries.summary(p, "en")) for p in papers[:4]]
    await sim.until_asked(1)  # the fourth waits for the next minute
    for _ in range(500):  # while the three granted ones reach the server
        if len(fake_gemini.requests) == 3:
            break
        await asyncio.sleep(0.01)
    assert len(fake_gemini.requests) == 3  # background takes 3 of the 4 a minute
    person = app.summaries.summary(papers[4], "en", PERSON)
    try:
        summary = await asyncio.wait_for(person, timeout=10)  # the fourth: at once
    finally:
        sim.gate.set()
        await asyncio.gather(*background)
    assert summary.model == MODEL
    assert len(fake_gemini.requests) == 5 and sim.waits == [pytest.approx(60)]


@pytest.mark.parametrize("backend", [gemini, openai])
async def test_a_spent_daily_quota_pauses_the_model_until_the_reset(
    bench: Bench, clock: FakeClock, sim: SimSleep, backend: Backend, store: Store
) -> None:
    server = (FakeGemini if backend is gemini else FakeOpenAI)().start()
    try:
        server.limit(None, 2, clock)  # the provider's day is smaller than ours
        app = bench.app(server, BudgetLimits(rpd=100), backend)
        papers = bench.papers(5)
        await bench.waiting(app, papers)
        for p in papers:
            await app.summaries.summary(p, "en")
        assert len(server.requests) == 3  # the 429 is not retried; the rest not asked
        assert [bench.grounding(n) for n in range(1, 6)] == [
            "passed",
            "passed",
            "budget",
            "budget",
            "budget",
        ]
        assert sim.waits == []
        row = store.rows(SummaryRows).summary("2511.00003", 1, "en", MODEL)
        assert row is not None and row["retry_at"] == NEXT_RESET.isoformat()
        stats = await gather_stats(store, BudgetLimits(rpd=100), clock.now)
        assert stats["model_paused_until"] == NEXT_RESET.isoformat()

        restarted = RequestBudget(BudgetLimits(rpd=100), clock, store)
        with pytest.raises(NoBudget):  # the pause outlives a restart
            await restarted.acquire()

        clock.now = NEXT_RESET  # the provider's new day: two more, then paused again
        assert await app.planner.run() == 2
        assert (len(server.requests), server.refused) == (6, 2)
    finally:
        server.stop()


@pytest.mark.parametrize("backend", [gemini, openai])
async def test_a_per_minute_429_waits_as_the_server_says(
    bench: Bench, clock: FakeClock, sim: SimSleep, backend: Backend
) -> None:
    server = (FakeGemini if backend is gemini else FakeOpenAI)().start()
    try:
        server.limit(1, None, clock)
        app = bench.app(server, BudgetLimits(), backend)  # no local limits: only the server's
        first, second = bench.papers(2)
        await app.summaries.summary(first, "en")
        clock.now += timedelta(seconds=20)
        summary = await app.summaries.summary(second, "en")
        assert summary.model == MODEL and bench.grounding(2) == "passed"
        assert sim.waits == [40.0]
        assert (len(server.requests), server.refused) == (3, 1)
    finally:
        server.stop()


async def test_openai_rate_limit_headers_say_how_long_to_wait(
    bench: Bench, fake_openai: FakeOpenAI, sim: SimSleep
) -> None:
    app = bench.app(fake_openai, BudgetLimits(), openai)
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "12.5s"}
    fake_openai.then(fake_openai.error(429, "Rate limit reached for requests", headers))
    (only,) = bench.papers(1)
    assert (await app.summaries.summary(only, "en")).model == MODEL
    assert sim.waits == [12.5] and len(fake_openai.requests) == 2


async def chat_with(app: App, name: str, topics: str, **settings: str) -> None:
    chat = await app.chats.chat(ChatRef("test", name))
    await app.chats.subscribe(chat, [parse_topic(t) for t in topics.split("; ")])
    for setting, value in settings.items():
        chat = await app.chats.change_setting(chat, setting, value)


async def three_papers_for_three_chats(app: App, fake_arxiv: FakeArxiv, clock: FakeClock) -> None:
    """Instant chat (max 2), a zh daily chat at 20:00 and an en daily chat at 10:00 with
    threshold 0.5, over three papers: video, plain, depth."""
    fake_arxiv.feeds["cs.CV"] = [
        make_paper(1, title="Video Transformers"),
        make_paper(2, title="Plain Segmentation"),
        make_paper(3, title="Depth Estimation"),
    ]
    clock.now = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # 01:00 in California
    await chat_with(app, "instant", "cs.CV; video", max="2")
    await chat_with(app, "zh", "cs.CV; depth", language="zh", mode="daily", time="20:00")
    await chat_with(app, "late", "cs.CV; video", mode="daily", time="10:00", threshold="0.5")
    await app.polling.poll()


async def test_the_plan_is_cards_due_soonest_then_best_scored_never_listed_or_below_threshold(
    bench: Bench, fake_gemini: FakeGemini, fake_arxiv: FakeArxiv, clock: FakeClock
) -> None:
    app = bench.app(fake_gemini, BudgetLimits())
    await three_papers_for_three_chats(app, fake_arxiv, clock)
    plan = await app.planner.plan()
    assert [(p.paper_id, p.language) for p in plan] == [
        ("2511.00001", "en"),  # the instant chat's cards, now: the video paper first
        ("2511.00002", "en"),  # (the depth paper is only listed there, after max 2)
        ("2511.00003", "zh"),  # the zh digest at 20:00, its depth paper first
        ("2511.00001", "zh"),
        ("2511.00002", "zh"),
    ]  # the 10:00 digest's only card (video, above 0.5) is planned already, for now
    assert [p.due for p in plan] == [clock.now] * 2 + [clock.now.replace(hour=20)] * 3
    await app.planner.run()
    assert await app.planner.plan() == []  # made: nothing left to ask for
    assert bench.store.rows(SummaryRows).db["summaries"].count == 5


async def test_the_budget_goes_to_the_plan_in_order_and_upgrades_only_cards_still_to_send(
    bench: Bench, fake_gemini: FakeGemini, fake_arxiv: FakeArxiv, clock: FakeClock
) -> None:
    app = bench.app(fake_gemini, BudgetLimits(rpd=2))
    await three_papers_for_three_chats(app, fake_arxiv, clock)
    assert await app.planner.run() == 2  # the day's budget: the instant chat's two cards
    platform = RecordingPlatform()
    await app.outbox.deliver_due({"test": platform})
    assert [(c.paper.id, c.summary.model) for c in platform.made] == [
        ("2511.00001", MODEL),
        ("2511.00002", MODEL),
    ]
    clock.now = clock.now.replace(hour=20, minute=1)  # both digests; the day is spent
    await app.outbox.deliver_due({"test": platform})
    by_language = {(c.language, c.summary.source) for c in platform.made[2:]}
    assert by_language == {("en", "abstract"), ("zh", "extractive")}  # en made in the plan
    assert len(fake_gemini.requests) == 2
    clock.now = NEXT_RESET  # budget again; the zh cards were sent: nothing to upgrade
    assert await app.planner.plan() == []
    assert await app.planner.run() == 0 and len(fake_gemini.requests) == 2
