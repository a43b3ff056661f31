"""Benchmark one poll: requests per poll, papers per second, peak memory.

200 chats follow 300 subscriptions over 60 distinct topics in 8 categories
(8 categories, 8 keywords narrowed with in:, 40 keywords, 4 authors), served
by the local fake arXiv (no network). Run: python benchmarks/poll.py
"""

from __future__ import annotations

import asyncio
import random
import resource
import tempfile
import time
from datetime import timedelta
from itertools import combinations

import _inputs  # noqa: F401 (the repository on sys.path; a missing input in one line)

from bot.app import build_app
from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.chats import ChatRef
from bot.config import Settings
from bot.figures import NoFigures
from bot.summarize.extractive import ExtractiveSummarizer
from bot.topics import parse_topic
from storage.database import Store
from tests.fake_arxiv import FakeArxiv, make_paper

CATEGORIES = ["cs.CV", "cs.LG", "cs.CL", "cs.RO", "cs.GR", "quant-ph", "astro-ph.GA", "math.OC"]
WORDS = [
    "diffusion",
    "transformer",
    "graph",
    "robust",
    "sparse",
    "quantum",
    "galaxy",
    "control",
    "policy",
    "language",
    "retrieval",
    "splatting",
    "radiance",
    "contrastive",
    "federated",
    "kernel",
    "bayesian",
    "optimal",
    "stochastic",
    "adversarial",
]
KEYWORDS = [f"{a} {b}" for a, b in list(combinations(WORDS, 2))[::4][:40]]
AUTHORS = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Emmy Noether"]
CHATS, SUBSCRIPTIONS, PAPERS_PER_FEED, API_PAPERS = 200, 300, 150, 1500


def topics() -> list[str]:
    narrowed = [f"{WORDS[i]} in:{CATEGORIES[i]}" for i in range(8)]
    return CATEGORIES + narrowed + KEYWORDS + [f"au:{a.split()[1]}" for a in AUTHORS]


def populate(fake: FakeArxiv, rng: random.Random) -> None:
    number = 0
    for category in CATEGORIES:
        feed = []
        for _ in range(PAPERS_PER_FEED):
            number += 1
            words = " ".join(rng.sample(WORDS, 4))
            feed.append(
                make_paper(
                    number,
                    title=f"On {words}",
                    categories=[category],
                    announce_type=rng.choice(["new", "new", "cross", "replace"]),
                )
            )
        fake.feeds[category] = feed
    for i in range(API_PAPERS):
        number += 1
        phrase = rng.choice(KEYWORDS)
        fake.papers.append(
            make_paper(
                number,
                title=f"Towards {phrase} at scale",
                categories=[rng.choice(CATEGORIES)],
                authors=[rng.choice(AUTHORS), "Some Author"],
                age=timedelta(minutes=10 * i),
            )
        )


async def main() -> None:
    rng = random.Random(7)
    fake = FakeArxiv().start()
    populate(fake, rng)
    names = topics()
    assert len(set(names)) == 60
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({**fake.env, "PAPERBOT_DB": f"{tmp}/bench.db"}, None)
        store = Store(settings.db_path)
        client = ArxivClient(settings)
        app = build_app(settings, store, ArxivSource(client), ExtractiveSummarizer(), NoFigures())
        pairs = {(c, names[c % 60]) for c in range(CHATS)}
        while len(pairs) < SUBSCRIPTIONS:
            pairs.add((rng.randrange(CHATS), rng.choice(names)))
        for chat_number, topic in sorted(pairs):
            chat = await app.chats.chat(ChatRef("bench", str(chat_number)))
            await app.chats.subscribe(chat, [parse_topic(topic)])
        feeds = len({c for t in names for c in parse_topic(t).feeds})
        print(
            f"chats={CHATS} subscriptions={len(pairs)} distinct topics={len(names)} "
            f"categories={len(CATEGORIES)} feeds needed={feeds}"
        )
        for label in ("first poll", "second poll"):
            fake.requests.clear()
            started = time.perf_counter()
            report = await app.polling.poll()
            seconds = time.perf_counter() - started
            pages = len(fake.api_requests())
            groups = len({r["search_query"] for r in fake.api_requests()})
            print(
                f"{label}: rss requests={report.rss_requests} api requests={report.api_requests}"
                f" (pages={pages}, groups={groups}) papers={report.papers_seen}"
                f" queued deliveries={report.deliveries_queued}"
                f" time={seconds:.2f}s papers/s={report.papers_seen / seconds:.0f}"
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory (max RSS of the process, fake server included)={peak:.0f} MiB")
        await client.aclose()
        store.close()
    fake.stop()


if __name__ == "__main__":
    asyncio.run(main())
