"""Soak: a simulated week of arXiv announcements for 1,000 chats, on an accelerated clock.

The runner's real jobs run against the local fake arXiv and a recording
platform, in simulated time (tests/sim.py): a poll whenever the runner's poll
trigger fires (hourly, and after each announcement), a delivery tick every 5
simulated minutes (the bot's tick is 1 minute; 5 keeps the run short; daily
digests may then be up to 5 minutes late). arXiv announces a few hundred papers
over 20 categories at 20:00 New York time, Sunday to Thursday.

Chats follow 1 to 3 categories; 60% are instant, 40% daily at their own time
in one of eight time zones; one in ten reads Chinese; one in five has /interests
(so the relevance model is loaded and every paper featurized). Printed: deliveries
expected vs done, duplicates, summaries made per unique paper (the summarizer
is extractive here; a language model would be called as often), peak memory
and database growth per day.

Run: python benchmarks/soak.py [--chats 1000] [--days 7] [--papers 300]
(with fewer days, daily chats may not have had the last announcement's digest
yet when the run ends: they show as missing).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _inputs  # noqa: F401 (the repository on sys.path; a missing input in one line)

from bot.app import App, build_app
from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.chats import ChatRef
from bot.config import Settings
from bot.figures import NoFigures
from bot.models import Paper, Summary
from bot.runner import Runner
from bot.schedule import next_announcement
from bot.summarize.base import SummaryRun
from bot.summarize.extractive import ExtractiveSummarizer
from bot.topics import parse_topic
from storage.database import Store
from storage.papers import SummaryRows
from tests.fake_arxiv import FakeArxiv, FakePaper, make_paper
from tests.sim import FakeClock, SimPlatform, Simulation

CATEGORIES = [
    "cs.AI", "cs.CL", "cs.CV", "cs.LG", "cs.RO", "cs.GR", "cs.CR", "cs.DS", "cs.NI", "cs.SE",
    "stat.ML", "math.OC", "math.PR", "quant-ph", "astro-ph.GA", "astro-ph.CO", "hep-th",
    "cond-mat.mtrl-sci", "q-bio.NC", "eess.SP",
]  # fmt: skip
ZONES = [
    "UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles",
    "Asia/Shanghai", "Asia/Kolkata", "Australia/Sydney",
]  # fmt: skip
INTERESTS = ["neural methods for hard problems", "robot grasping", "quantum error correction"]
START = datetime(2026, 11, 15, 0, 0, tzinfo=UTC)  # a Sunday
TICK_SECONDS = 300


class CountingSummarizer(ExtractiveSummarizer):
    """The extractive summarizer, counting its calls per (paper version, language)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[tuple[str, int, str]] = Counter()

    async def summarize(
        self,
        paper: Paper,
        language: str,
        fulltext: str | None = None,
        run: SummaryRun | None = None,
    ) -> Summary:
        self.calls[(paper.id, paper.version, language)] += 1
        return await super().summarize(paper, language, fulltext, run)


def announced_batches(
    rng: random.Random, days: int, papers: int
) -> dict[datetime, list[FakePaper]]:
    """Each announcement in the window: `papers` papers, a primary category each and,
    for a third of them, a cross-list."""
    batches: dict[datetime, list[FakePaper]] = {}
    moment, number = START, 0
    while (moment := next_announcement(moment)) < START + timedelta(days=days):
        batch = []
        for _ in range(rng.randint(papers * 4 // 5, papers * 6 // 5)):
            number += 1
            categories = rng.sample(CATEGORIES, 2 if rng.random() < 1 / 3 else 1)
            batch.append(make_paper(number, categories=categories))
        batches[moment] = batch
    return batches


def publish(fake: FakeArxiv, batch: list[FakePaper]) -> None:
    """The category feeds after an announcement: new in the primary, cross elsewhere."""
    feeds: dict[str, list[FakePaper]] = {c: [] for c in CATEGORIES}
    for paper in batch:
        feeds[paper.categories[0]].append(paper)
        for other in paper.categories[1:]:
            feeds[other].append(replace(paper, announce_type="cross"))
    fake.feeds = feeds


async def add_chats(app: App, rng: random.Random, count: int) -> dict[str, set[str]]:
    """The chats and their settings; returns chat id → followed categories."""
    follows: dict[str, set[str]] = {}
    for number in range(count):
        chat = await app.chats.chat(ChatRef("soak", str(number)))
        categories = set(rng.sample(CATEGORIES, rng.randint(1, 3)))
        await app.chats.subscribe(chat, [parse_topic(c) for c in sorted(categories)])
        if rng.random() < 0.1:
            chat = await app.chats.change_setting(chat, "language", "zh")
        if rng.random() < 0.4:
            at = f"{rng.randrange(24):02d}:{rng.choice([0, 15, 30, 45]):02d}"
            for name, value in (("mode", "daily"), ("timezone", rng.choice(ZONES)), ("time", at)):
                chat = await app.chats.change_setting(chat, name, value)
        if rng.random() < 0.2:  # ranked by its words too: the text model is loaded and used
            await app.relevance.set_interests(chat, rng.choice(INTERESTS))
        follows[str(number)] = categories
    return follows


def database_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


async def main(chats: int, days: int, papers: int) -> None:
    rng = random.Random(11)
    fake = FakeArxiv().start()
    fake.feeds = {c: [] for c in CATEGORIES}
    batches = announced_batches(rng, days, papers)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({**fake.env, "PAPERBOT_DB": f"{tmp}/soak.db"}, None)
        store, client, clock = Store(settings.db_path), ArxivClient(settings), FakeClock(START)
        summarizer = CountingSummarizer()
        # PDFs are benchmarks/figures.py's business
        app = build_app(settings, store, ArxivSource(client), summarizer, NoFigures(), clock)
        try:
            await soak(app, clock, summarizer, fake, batches, chats, days, rng)
        finally:
            await client.aclose()
            store.close()
    fake.stop()


async def soak(
    app: App,
    clock: FakeClock,
    summarizer: CountingSummarizer,
    fake: FakeArxiv,
    batches: dict[datetime, list[FakePaper]],
    chats: int,
    days: int,
    rng: random.Random,
) -> None:
    """Run the simulated days on `app`, then print what was delivered."""
    follows = await add_chats(app, rng, chats)
    platform = SimPlatform(clock, "soak")
    runner = Runner(app, {"soak": platform}, app.settings.poll_interval, tick=TICK_SECONDS)
    waiting = sorted(batches)

    def before_poll(now: datetime) -> None:
        while waiting and waiting[0] <= now:
            publish(fake, batches[waiting.pop(0)])

    sim = Simulation(runner, clock, before_poll=before_poll)
    print(
        f"chats={chats} (instant/daily mixed, {len(ZONES)} time zones) categories="
        f"{len(CATEGORIES)} announcements={len(batches)} papers="
        f"{sum(len(b) for b in batches.values())} days={days} tick={TICK_SECONDS}s"
    )
    path = app.settings.db_path
    size = database_bytes(path)
    started = time.perf_counter()
    for day in range(days):
        day_started = time.perf_counter()
        await sim.run_until(START + timedelta(days=day + 1))
        grown, size = database_bytes(path) - size, database_bytes(path)
        print(
            f"day {day + 1} ({(START + timedelta(days=day)):%a}): deliveries so far="
            f"{sum(platform.received().values())} db={size / 1e6:.1f} MB "
            f"(+{grown / 1e6:.1f} MB) wall={time.perf_counter() - day_started:.1f}s"
        )
    every = [p for batch in batches.values() for p in batch]
    expected = {(c, p.id) for c, cats in follows.items() for p in every if cats & set(p.categories)}
    received = platform.received()
    print(
        f"deliveries expected={len(expected)} done={len(set(received) & expected)} "
        f"missing={len(expected - set(received))} unexpected={len(set(received) - expected)} "
        f"duplicates={sum(n - 1 for n in received.values())} messages={len(platform.sent)} "
        f"polls={sim.polls}"
    )
    calls = sum(summarizer.calls.values())
    unique = {paper for _, paper in received}
    print(
        f"summaries: model calls={calls} unique papers={len(unique)} "
        f"calls per unique paper={calls / max(len(unique), 1):.2f} "
        f"per (paper, language)={calls / max(len(summarizer.calls), 1):.2f} "
        f"stored summaries={app.store.rows(SummaryRows).db['summaries'].count}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak memory (max RSS, fake arXiv included)={peak:.0f} MiB (target < 300); "
        f"database {size / 1e6:.1f} MB, {size / days / 1e6:.2f} MB/day; "
        f"wall time {time.perf_counter() - started:.0f}s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--papers", type=int, default=300, help="papers per announcement")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.chats, arguments.days, arguments.papers))
