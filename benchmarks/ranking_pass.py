"""Benchmark the outbox's ranking pass through the relevance service and the store.

1,000 chats with 600 new papers waiting between them, set up as a running bot
would have them stored: each chat follows a category (cs.CV or cs.CL) and a
keyword, mutes a keyword and an author, voted on 20 earlier papers, and half of
them wrote /interests. Its deliveries are the new papers its topics match. Timed:
the pass as the outbox runs it (bot/outbox.py: all due chats scored in one
ranking, then each chat's scores stored with its deliveries and the muted or
below-threshold ones recorded skipped), once with cold profiles (the first pass
after a start) and once warm, and, for comparison, chat by chat. The papers are
real (tests/fixtures/arxiv_metadata/).

Run: python benchmarks/ranking_pass.py [--chats 1000] [--papers 600]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _inputs import ROOT  # noqa: F401 (the repository on sys.path)
from ranking import peak_mib

from bot.chats import ChatRef, Chats
from bot.models import Chat, Paper
from bot.ranking import Relevance
from bot.relevance import default_featurizer
from bot.topics import parse_topic
from storage.chats import ChatRows
from storage.database import Store
from storage.feedback import FeedbackRows
from storage.outbox import DeliveryRows
from storage.papers import PaperRows
from storage.rows import iso
from tests.arxiv_metadata import FIXTURE, load_papers
from tests.sim import FakeClock

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
Waiting = list[tuple[Chat, list[Paper], dict[str, int]]]


async def setup(store: Store, papers: list[Paper], chats: int, new: int) -> Waiting:
    """The chats, their votes, mutes and queued deliveries; returns what waits for each."""
    rng = random.Random(7)
    history, fresh = papers[:-new], papers[-new:]
    at = iso(NOW)
    await store.call(PaperRows.upsert_papers, [p.to_row() for p in papers], at)
    keywords = ["video", "diffusion", "segmentation", "translation", "speech", "retrieval"]
    authors = [f"au:{p.authors[0]}" for p in rng.sample(history, 50)]
    service = Chats(store, "en", FakeClock(NOW))
    queued: list[tuple[int, str, str]] = []
    for number in range(chats):
        chat = await service.chat(ChatRef("telegram", str(number)))
        topics = [parse_topic(t) for t in (rng.choice(["cs.CV", "cs.CL"]), rng.choice(keywords))]
        await service.subscribe(chat, topics)
        for paper in rng.sample(history, 20):
            await store.call(FeedbackRows.vote, chat.id, "u", paper.id, rng.choice([1, -1]), at)
        for mute in (rng.choice(keywords), rng.choice(authors)):
            await store.call(FeedbackRows.mute, chat.id, mute, at)
        if number % 2:
            changes = {"interests": "medical imaging and segmentation", "threshold": 0.3}
            await store.call(ChatRows.update_chat, chat.id, changes)
        queued += [(chat.id, p.id, t.canonical) for p in fresh for t in topics[:1] if t.match(p)]
    await store.call(DeliveryRows.queue_deliveries, queued, at)
    rows = await store.call(DeliveryRows.due_to_chats, list(range(1, chats + 1)), at)
    by_id = {p.id: p for p in fresh}
    waiting: dict[int, tuple[list[Paper], dict[str, int]]] = {}
    for row in rows:
        some, deliveries = waiting.setdefault(row["chat"], ([], {}))
        some.append(by_id[row["paper_id"]])
        deliveries[row["paper_id"]] = row["id"]
    found = [Chat.from_row(await store.call(ChatRows.chat_by_id, chat)) for chat in waiting]
    return [(chat, *waiting[chat.id]) for chat in found]


async def one_pass(
    relevance: Relevance, waiting: Waiting, batched: bool
) -> tuple[float, float, int]:
    """Seconds for one pass (wall clock, CPU of all threads) and how many papers it would
    send."""
    started, cpu = time.perf_counter(), time.process_time()
    scored = None
    if batched:
        scored = await relevance.score_chats([(chat, papers) for chat, papers, _ in waiting])
    sending = 0
    for chat, papers, deliveries in waiting:
        judged = await relevance.judge(chat, papers, deliveries, scored)
        sending += len(judged.send)
    return time.perf_counter() - started, time.process_time() - cpu, sending


async def run(chats: int, new: int, db: Path) -> None:
    papers = load_papers(FIXTURE)
    store = Store(db)
    before = 0.0
    try:
        waiting = await setup(store, papers, chats, new)
        pairs = sum(len(p) for _, p, _ in waiting)
        print(f"{len(waiting)} chats, {new} new papers, {pairs} (chat, paper) deliveries waiting")
        before = peak_mib()
        relevance = Relevance(store, FakeClock(NOW), default_featurizer)
        for label, batched in (("cold", True), ("warm", True), ("chat by chat", False)):
            seconds, cpu, sending = await one_pass(relevance, waiting, batched)
            print(
                f"  pass, {label:<13} {seconds:6.2f} s ({cpu:6.2f} s CPU)"
                f"  {sending} to send, the rest skipped"
            )
    finally:
        store.close()
    print(f"peak memory {before:.0f} MiB after setting up, {peak_mib():.0f} MiB after the passes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--papers", type=int, default=600)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(options.chats, options.papers, Path(tmp) / "ranking.db"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
