"""Benchmark completeness: is every paper a chat follows delivered, once?

Replays the ten real announcement days of `tests/fixtures/arxiv_metadata/`
(3,295 papers listed in cs.CV, cs.CL, cs.RO, quant-ph, astro-ph.GA) through the
fake arXiv, with realistic lags: each paper submitted in its listing's
submission window (up to 3.25 days before the announcement over a weekend),
~3 % held by moderation 7–21 days longer, a holiday (Thursday's listing comes
out with Friday's), papers older than September 2025 listed as replacements.
The API and OAI-PMH show a paper from its announcement on (its datestamp: the
listing day); the listings show the latest announcement. The bot starts
mid-week (Wednesday), is down for a day (no poll from Monday evening to
Wednesday morning) and polls on the runner's schedule.

One chat per topic: categories, `in:`-narrowed keywords, plain keywords,
authors, raw queries. Per topic kind: expected (chat, paper) pairs (papers
listed from the first poll's listing on that match the topic, replacements
excluded), delivered, missed (with their lags), duplicates; and arXiv requests
per poll. Run: python benchmarks/coverage.py [--interval SECONDS] [--no-listings]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import random
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

from _inputs import FIXTURES

from bot.app import build_app
from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.chats import ChatRef
from bot.config import Settings
from bot.figures import NoFigures
from bot.models import Paper
from bot.runner import Runner
from bot.summarize.extractive import ExtractiveSummarizer
from bot.topics import TopicKind, parse_topic
from storage.database import Store
from tests.fake_arxiv import (
    FakeArxiv,
    FakePaper,
    announcement_of,
    evaluate,
    submission_window,
)
from tests.sim import FakeClock, SimPlatform, Simulation

METADATA = FIXTURES / "arxiv_metadata" / "papers.jsonl.gz"
TOPICS = [
    "cs.CV",
    "cs.CL",
    "cs.RO",
    "quant-ph",
    "astro-ph.GA",
    "segmentation in:cs.CV",
    "reasoning in:cs.CL",
    "grasp in:cs.RO",
    "entanglement in:quant-ph",
    "gaussian splatting",
    "diffusion",
    "reinforcement learning",
    "dark matter",
    "star formation",
    "au:Yu Qiao",
    "au:Sandro Tacchella",
    "au:Jiangmiao Pang",
    "au:Linfeng Zhang",
    'q:cat:cs.RO AND abs:"manipulation"',
    'q:abs:"error correction"',
    'q:cat:astro-ph.GA AND abs:"star formation"',
]
HOLIDAY = date(2025, 10, 16)  # Thursday: its papers are listed on Friday
HELD_SHARE = 0.03
FIRST_POLL = datetime(2025, 10, 15, 10, 0, tzinfo=UTC)  # Wednesday morning
DOWN = (datetime(2025, 10, 20, 22, 0, tzinfo=UTC), datetime(2025, 10, 22, 6, 0, tzinfo=UTC))
END = datetime(2025, 10, 25, 12, 0, tzinfo=UTC)
TICK_SECONDS = 900


def kind_of(topic: str) -> str:
    parsed = parse_topic(topic)
    if parsed.kind in (TopicKind.KEYWORD, TopicKind.AUTHOR) and parsed.categories:
        return "in: keyword"
    return str(parsed.kind)


def load(rng: random.Random) -> tuple[list[tuple[FakePaper, date]], dict[str, float]]:
    """The papers with the listing day they appear in, and each one's lag in days
    (announcement − submission)."""
    papers, lags = [], {}
    with gzip.open(METADATA, "rt") as lines:
        rows = [json.loads(line) for line in lines]
    for row in sorted(rows, key=lambda r: r["id"]):
        day = date.fromisoformat(row["announced"])
        start, end = submission_window(day)
        listed = day + timedelta(days=1) if day == HOLIDAY else day
        replacement = row["id"] < "2509"
        if replacement:
            published = datetime(2000 + int(row["id"][:2]), int(row["id"][2:4]), 15, tzinfo=UTC)
        else:
            published = start + (end - start) * rng.random()
            if rng.random() < HELD_SHARE:
                published -= timedelta(days=rng.uniform(7, 21))
        papers.append(
            (
                FakePaper(
                    id=row["id"],
                    title=row["title"],
                    abstract=row["abstract"],
                    authors=row["authors"],
                    categories=row["categories"],
                    published=published.replace(microsecond=0),
                    version=2 if replacement else 1,
                    announce_type="replace" if replacement else "new",
                    announced=listed,
                ),
                listed,
            )
        )
        lags[row["id"]] = (announcement_of(listed) - published).total_seconds() / 86400
    return papers, lags


def expected_pairs(
    papers: list[tuple[FakePaper, date]], first_day: date, followed: list[str]
) -> set[tuple[str, str]]:
    """(chat, paper) pairs due: chat `i` follows `followed[i]`."""
    pairs = set()
    for paper, listed in papers:
        if listed < first_day or paper.announce_type != "new":
            continue
        local = Paper(
            id=paper.id,
            version=paper.version,
            title=paper.title,
            authors=tuple(paper.authors),
            abstract=paper.abstract,
            categories=tuple(paper.categories),
            primary_category=paper.categories[0],
            published=paper.published,
            updated=paper.published,
        )
        for number, text in enumerate(followed):
            topic = parse_topic(text)
            hit = (
                evaluate(topic.value, paper)
                if topic.kind is TopicKind.QUERY
                else topic.matches(local)
            )
            if hit:
                pairs.add((str(number), paper.id))
    return pairs


class Replay:
    """What the fake arXiv shows at a moment: the latest listing, and in the API every
    paper announced so far."""

    def __init__(self, fake: FakeArxiv, papers: list[tuple[FakePaper, date]]) -> None:
        self.fake = fake
        self.by_day: dict[date, list[FakePaper]] = defaultdict(list)
        for paper, listed in papers:
            self.by_day[listed].append(paper)
        self.requests: list[tuple[int, int, int]] = []
        self._seen = 0

    def show(self, now: datetime) -> None:
        shown = [day for day in self.by_day if announcement_of(day) <= now]
        latest = max(shown)
        self.fake.listing_day = latest
        self.fake.announced = self.by_day[latest]
        self.fake.papers = [p for day in shown for p in self.by_day[day]]
        made = [path for path, _ in self.fake.requests[self._seen :]]
        rss, oai = sum(p.startswith("/rss/") for p in made), made.count("/oai")
        self.requests.append((rss, len(made) - rss - oai, oai))
        self._seen = len(self.fake.requests)


async def main(interval: int, followed: list[str]) -> None:
    rng = random.Random(16)
    papers, lags = load(rng)
    first_day = max(d for d in {listed for _, listed in papers} if announcement_of(d) <= FIRST_POLL)
    expected = expected_pairs(papers, first_day, followed)
    fake = FakeArxiv().start()
    replay = Replay(fake, papers)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**fake.env, "PAPERBOT_DB": f"{tmp}/coverage.db"}
        settings = Settings.from_env({**env, "PAPERBOT_POLL_INTERVAL": str(interval)}, None)
        store, client, clock = Store(settings.db_path), ArxivClient(settings), FakeClock(FIRST_POLL)
        source, summarizer = ArxivSource(client), ExtractiveSummarizer()
        app = build_app(settings, store, source, summarizer, NoFigures(), clock)
        try:
            for number, text in enumerate(followed):
                chat = await app.chats.chat(ChatRef("bench", str(number)))
                await app.chats.subscribe(chat, [parse_topic(text)])
            platform = SimPlatform(clock, "bench")
            runner = Runner(app, {"bench": platform}, interval, tick=TICK_SECONDS)
            sim = Simulation(runner, clock, before_poll=replay.show)
            await sim.run_until(DOWN[0])
            clock.now = DOWN[1]
            restarted = Simulation(runner, clock, before_poll=replay.show)
            await restarted.run_until(END)
            replay.show(END)
            polls = sim.polls + restarted.polls
        finally:
            await client.aclose()
            store.close()
    fake.stop()
    report(followed, expected, platform.received(), lags, replay.requests[1:], polls)
    print(f"wall time {time.perf_counter() - started:.0f}s")


def report(
    followed: list[str],
    expected: set[tuple[str, str]],
    received: Counter[tuple[str, str]],
    lags: dict[str, float],
    requests: list[tuple[int, int, int]],
    polls: int,
) -> None:
    print(
        f"topics={len(followed)} (one chat each) first poll={FIRST_POLL:%a %d %b %H:%M} UTC "
        f"down {DOWN[0]:%a %H:%M}–{DOWN[1]:%a %H:%M} holiday={HOLIDAY:%a %d %b} "
        f"held={HELD_SHARE:.0%} polls={polls}"
    )
    kinds = sorted({kind_of(t) for t in followed})
    print(
        f"{'kind':<12} {'expected':>8} {'delivered':>9} {'%':>7} {'missed':>6} "
        f"{'extra':>5} {'dup':>4}  missed lags (days)"
    )
    for kind in kinds:
        chats = {str(n) for n, t in enumerate(followed) if kind_of(t) == kind}
        want = {pair for pair in expected if pair[0] in chats}
        got = {pair for pair in received if pair[0] in chats}
        missed = sorted(want - got)
        duplicates = sum(n - 1 for pair, n in received.items() if pair[0] in chats)
        share = 100 * len(want & got) / max(len(want), 1)
        shown = ", ".join(f"{followed[int(c)]}:{p} {lags[p]:.1f}" for c, p in missed[:6])
        print(
            f"{kind:<12} {len(want):>8} {len(want & got):>9} {share:>6.2f}% {len(missed):>6} "
            f"{len(got - want):>5} {duplicates:>4}  {shown}{' …' if len(missed) > 6 else ''}"
        )
    for name, counts in (
        ("RSS", [rss for rss, _, _ in requests]),
        ("API", [api for _, api, _ in requests]),
        ("OAI-PMH", [oai for _, _, oai in requests]),
        ("all", [sum(made) for made in requests]),
    ):
        print(
            f"arXiv {name} requests per poll: mean={sum(counts) / max(len(counts), 1):.1f} "
            f"max={max(counts, default=0)} total={sum(counts)}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interval", type=int, default=3600, help="seconds between polls")
    parser.add_argument(
        "--no-listings",
        action="store_true",
        help="follow no category (and no in: topic): keywords and authors through the API only",
    )
    arguments = parser.parse_args()
    followed = [t for t in TOPICS if not (arguments.no_listings and parse_topic(t).feeds)]
    asyncio.run(main(arguments.interval, followed))
