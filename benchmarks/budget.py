"""Benchmark the model's request budget on one simulated weekday, against the local fake
Gemini (which enforces the same RPM and RPD and answers 429 to any excess), on a
simulated clock (no sleeping).

600 real new papers (tests/fixtures/arxiv_metadata/, CC0) are announced at the start of
a provider day for 300 chats with realistic topics and settings: one or two of the
fixture's categories, a third of them a keyword too; a sixth instant, the rest daily
at their own hour in one of five time zones; max 10; one in ten in Chinese. The day
runs tick by tick (every 5 minutes: deliveries due; every hour: a poll's planning).
Two strategies are compared:

* first come, first served (paperbot before the planner): each summary is made when
  its message goes out, every paper of a digest with the model, listed ones too;
* planned (bot/summary_plan.py): after each poll, the summaries of cards still to
  send, due soonest then best score first; listed papers cost nothing.

Printed per strategy: model requests in the day and in the busiest minute, 429s, the
(paper, language) summaries the day's cards need, and the share of cards sent with a
model summary. Then `/summarize` asked in the middle of the first planning run: how
long (simulated) until its model summary is there.

    python benchmarks/budget.py                       # RPM 10, RPD 250, then RPD 50
    python benchmarks/budget.py --rpd 100 --chats 100
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _inputs import FIXTURES, MissingInput

from bot.app import App, build_app
from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.chats import ChatRef
from bot.config import Settings
from bot.delivery import Sent
from bot.figures import NoFigures
from bot.models import Card, Chat, Digest, Paper
from bot.summarize import PERSON
from bot.summarize.budget import BudgetLimits, RequestBudget
from bot.summarize.gemini import GeminiModel
from bot.summarize.llm import LanguageModelSummarizer
from bot.topics import parse_topic
from storage.database import Store
from storage.outbox import DeliveryRows
from storage.papers import PaperRows
from storage.rows import iso
from tests.arxiv_metadata import load_papers
from tests.fake_llm import GEMINI_KEY, FakeGemini
from tests.sim import FakeClock, SimSleep

MODEL = "gemini-2.5-flash"
PAPERS = FIXTURES / "arxiv_metadata" / "papers.jsonl.gz"
START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # midnight in California: a new quota day
DAY = timedelta(hours=24)
TICK = timedelta(minutes=5)
POLL = timedelta(hours=1)
CATEGORIES = ["cs.CV", "cs.CL", "cs.LG", "cs.AI", "cs.RO"]
KEYWORDS = [
    "video", "diffusion", "segmentation", "language model", "translation", "speech",
    "retrieval", "robot", "3d", "medical", "reasoning", "agent",
]  # fmt: skip
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Shanghai", "America/Los_Angeles"]


@dataclass
class Cards:
    """A platform that records each card sent and whether the model wrote its summary;
    `on_digest` is called with each digest (first come, first served summarizes its
    listed papers there, as paperbot did before)."""

    name: str = "bench"
    sent: list[tuple[str, str, str, bool]] = field(default_factory=list)
    on_digest: Callable[[Chat, Digest], Awaitable[None]] | None = None

    async def send_card(self, chat: Chat, card: Card) -> None:
        self._record(chat, card)

    async def send_digest(self, chat: Chat, digest: Digest, sent: Sent) -> None:
        if self.on_digest is not None:
            await self.on_digest(chat, digest)
        for card in digest.cards:
            self._record(chat, card)
        await sent([c.paper.id for c in digest.cards] + [item.paper.id for item in digest.listed])

    async def send_text(self, chat: Chat, text: str) -> None:
        """Run reports are not part of this benchmark."""

    def _record(self, chat: Chat, card: Card) -> None:
        by_model = card.summary.source != "extractive"
        self.sent.append((chat.chat_id, card.paper.id, card.language, by_model))


async def add_chats(app: App, rng: random.Random, count: int) -> list[Chat]:
    chats = []
    for number in range(count):
        chat = await app.chats.chat(ChatRef("bench", str(number)))
        names = rng.sample(CATEGORIES, rng.choice([1, 1, 2]))
        if rng.random() < 1 / 3:
            names.append(rng.choice(KEYWORDS))
        await app.chats.subscribe(chat, [parse_topic(t) for t in names])
        if rng.random() < 0.1:
            chat = await app.chats.change_setting(chat, "language", "zh")
        if rng.random() >= 1 / 6:
            settings = {
                "mode": "daily",
                "timezone": rng.choice(ZONES),
                "time": f"{rng.randrange(24):02d}:00",
            }
            for name, value in settings.items():
                chat = await app.chats.change_setting(chat, name, value)
        chats.append(chat)
    return chats


async def announce(app: App, chats: list[Chat], papers: list[Paper]) -> None:
    """The papers stored and queued for every chat whose topics match them, as a poll
    would."""
    at = iso(START)
    await app.store.call(PaperRows.upsert_papers, [p.to_row() for p in papers], at)
    queued = []
    for chat in chats:
        topics = [parse_topic(t) for t in await app.chats.topics(chat)]
        for paper in papers:
            matched = next((t for t in topics if t.match(paper)), None)
            if matched is not None:
                queued.append((chat.id, paper.id, matched.canonical))
    await app.store.call(DeliveryRows.queue_deliveries, queued, at)


@dataclass
class Day:
    """One strategy's simulated day, and what it measured."""

    papers: list[Paper]
    chats: int
    limits: BudgetLimits
    planned: bool
    person_wait: float | None = None

    async def run(self, server: FakeGemini, tmp: Path) -> Cards:
        clock = FakeClock(START)
        sim = SimSleep(clock)
        server.limit(self.limits.rpm, self.limits.rpd, clock)
        db = Path(tempfile.mkdtemp(dir=tmp)) / "budget.db"  # a fresh database per day
        settings = Settings.from_env({"PAPERBOT_DB": str(db)}, None)
        store, client = Store(db), ArxivClient(settings)
        budget = RequestBudget(self.limits, clock, store, sim)
        model = GeminiModel(MODEL, GEMINI_KEY, server.base)
        summarizer = LanguageModelSummarizer(model, MODEL, sleep=sim, budget=budget)
        app = build_app(settings, store, ArxivSource(client), summarizer, NoFigures(), clock)
        platform = Cards()
        if not self.planned:
            platform.on_digest = _summarize_listed(app)
        try:
            chats = await add_chats(app, random.Random(5), self.chats)
            await announce(app, chats, self.papers)
            next_poll = START
            while clock.now < START + DAY:
                await app.outbox.deliver_due({platform.name: platform})
                if self.planned and clock.now >= next_poll:
                    await self._plan(app, clock, server if next_poll == START else None)
                    next_poll += POLL
                clock.now = max(clock.now, _next_tick(clock.now))
        finally:
            await summarizer.aclose()
            await client.aclose()
            store.close()
        return platform

    async def _plan(self, app: App, clock: FakeClock, watched: FakeGemini | None) -> None:
        """A poll's planning run; while it runs, someone asks for a summary once a few
        planned requests reached the `watched` server."""
        run = asyncio.create_task(app.planner.run(within=POLL))
        if watched is not None:
            busy = min(20, (self.limits.rpd or 40) // 2)
            while len(watched.requests) < busy and not run.done():  # noqa: ASYNC110 (its own thread)
                await asyncio.sleep(0.01)
            self.person_wait = await _person_asks(app, clock, self.papers[0])
        await run


def _summarize_listed(app: App) -> Callable[[Chat, Digest], Awaitable[None]]:
    async def summarize(chat: Chat, digest: Digest) -> None:
        for item in digest.listed:
            await app.summaries.summary(item.paper, chat.language)

    return summarize


async def _person_asks(app: App, clock: FakeClock, paper: Paper) -> float:
    """Seconds (simulated) from a `/summarize` of `paper` to its model summary."""
    asked = clock.now
    card = await app.papers.card(paper, "en", figures=False, priority=PERSON)
    assert card.summary.source != "extractive", "the person got no model summary"
    return (clock.now - asked).total_seconds()


def _next_tick(now: datetime) -> datetime:
    since = (now - START) // TICK
    return START + (since + 1) * TICK


def most_in_a_minute(times: list[datetime]) -> int:
    """The most of `times` in any window of one minute (0 for none)."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - timedelta(minutes=1):
            first += 1
        most = max(most, last - first + 1)
    return most


def report(day: Day, platform: Cards, server: FakeGemini) -> None:
    quota = server.quota
    assert quota is not None
    needed = {(paper, language) for _, paper, language, _ in platform.sent}
    english = [model for _, _, language, model in platform.sent if language == "en"]
    cards, by_model = len(platform.sent), sum(model for *_, model in platform.sent)
    name = "planned" if day.planned else "first come, first served"
    print(
        f"  {name}: requests {len(server.requests)} (at most {most_in_a_minute(quota.accepted)}"
        f" a minute), 429s {server.refused}; cards {cards} needing {len(needed)} summaries;"
        f" with a model summary {by_model / max(cards, 1):.1%}"
        f" (en cards {sum(english) / max(len(english), 1):.1%})"
    )


async def compare(papers: list[Paper], chats: int, limits: BudgetLimits, tmp: Path) -> None:
    print(f"RPM {limits.rpm}, RPD {limits.rpd}: {len(papers)} papers, {chats} chats")
    for planned in (False, True):
        server = FakeGemini().start()
        try:
            day = Day(papers, chats, limits, planned)
            platform = await day.run(server, tmp)
            report(day, platform, server)
        finally:
            server.stop()
        if day.person_wait is not None:
            print(
                f"  /summarize in the middle of planning: model summary after"
                f" {day.person_wait:.0f} s (simulated)"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=600, help="how many new papers")
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--rpm", type=int, default=10)
    parser.add_argument("--rpd", type=int, nargs="*", default=[250, 50])
    parser.add_argument("--input", type=Path, default=PAPERS, help="a .jsonl.gz of papers")
    options = parser.parse_args()
    papers = load_papers(options.input)[-options.papers :]
    if not papers:
        raise MissingInput(f"no papers in {options.input}")
    with tempfile.TemporaryDirectory() as tmp:
        for rpd in options.rpd:
            limits = BudgetLimits(options.rpm, rpd)
            asyncio.run(compare(papers, options.chats, limits, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
