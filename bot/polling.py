"""Polling: fetch what is new for every followed topic and queue it for the chats.

One poll reads each category feed once and each group of keyword topics once
(bot/arxiv/source.py), then stores the papers, the deliveries now due and the
topics' next cutoffs in one transaction, and records the poll (`PollReport`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.arxiv.source import ArxivSource
from bot.clock import Clock
from bot.models import Paper
from bot.schedule import missed_announcement
from bot.topics import Topic, TopicError, parse_topic
from storage.chats import ChatRows
from storage.database import Store
from storage.papers import PaperRows
from storage.polls import PollRows
from storage.rows import iso

log = logging.getLogger(__name__)

FIRST_POLL_WINDOW = timedelta(days=2)
OVERLAP = timedelta(days=2)


@dataclass
class PollReport:
    topics: int = 0
    rss_requests: int = 0
    api_requests: int = 0
    papers_seen: int = 0
    papers_new: int = 0
    papers_updated: int = 0
    deliveries_queued: int = 0
    errors: list[str] = field(default_factory=list)
    fetch_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """A poll succeeded unless every source it needed failed."""
        return not self.errors or self.papers_seen > 0

    def log_line(self) -> str:
        return (
            f"poll: ok={'yes' if self.ok else 'no'} topics={self.topics} "
            f"rss={self.rss_requests} api={self.api_requests} seen={self.papers_seen} "
            f"new={self.papers_new} updated={self.papers_updated} "
            f"queued={self.deliveries_queued} errors={len(self.errors)} "
            f"fetch={self.fetch_seconds:.2f}s total={self.seconds:.2f}s"
        )

    def row(self, started: datetime, finished: datetime) -> dict[str, object]:
        """The poll as stored in the `polls` table."""
        return {
            "started_at": started.isoformat(),
            "finished_at": finished.isoformat(),
            "rss_requests": self.rss_requests,
            "api_requests": self.api_requests,
            "papers_seen": self.papers_seen,
            "papers_new": self.papers_new,
            "deliveries_queued": self.deliveries_queued,
            "errors": json.dumps(self.errors),
            "ok": int(self.ok),
        }


class Poller:
    def __init__(self, store: Store, source: ArxivSource, clock: Clock) -> None:
        self.store = store
        self.source = source
        self.clock = clock

    async def poll(self) -> PollReport:
        """Fetch new papers for every followed topic and queue them for the chats."""
        started = time.monotonic()
        now = self.clock()
        report = PollReport()
        subscriptions = await self.store.call(ChatRows.active_subscriptions)
        by_topic: dict[str, list[int]] = {}
        for row in subscriptions:
            by_topic.setdefault(row["topic"], []).append(row["chat"])
        topics = _parsed_topics(by_topic)
        report.topics = len(topics)
        marks = await self.store.call(PollRows.cutoffs, list(by_topic))
        cutoffs = {
            topic: datetime.fromisoformat(marks[name]) if name in marks else now - FIRST_POLL_WINDOW
            for topic, name in topics.items()
        }
        counts_before = (self.source.client.counts.rss, self.source.client.counts.api)
        found = await self.source.poll(topics, cutoffs, self._known, await self._missed(topics))
        report.fetch_seconds = time.monotonic() - started
        items = [
            (chat, paper_id, topics[topic])
            for topic, paper_ids in found.hits.items()
            for paper_id in paper_ids
            for chat in by_topic[topics[topic]]
        ]
        rows = [p.to_row() for p in found.papers.values()]
        next_cutoffs = _next_cutoffs(found.papers, found.hits, topics, cutoffs)
        outcome, report.deliveries_queued = await self.store.call(
            PollRows.save_poll, rows, items, next_cutoffs, iso(now), found.feeds_read
        )
        report.rss_requests = self.source.client.counts.rss - counts_before[0]
        report.api_requests = self.source.client.counts.api - counts_before[1]
        report.papers_seen = len(found.papers)
        report.papers_new = sum(1 for v in outcome.values() if v == "new")
        report.papers_updated = sum(1 for v in outcome.values() if v == "updated")
        report.errors = found.errors
        report.seconds = time.monotonic() - started
        await self.store.call(PollRows.record_poll, report.row(now, self.clock()))
        log.info(report.log_line())
        return report

    async def _known(self, ids: Iterable[str]) -> set[str]:
        return await self.store.call(PaperRows.known_ids, list(ids))

    async def _missed(self, topics: Iterable[Topic]) -> list[str]:
        """The category feeds that missed an announcement since they were last read."""
        categories = {c for topic in topics for c in topic.feeds}
        read = await self.store.call(PollRows.feeds_read, categories)
        now = self.clock()
        missed = [
            c for c, at in read.items() if missed_announcement(datetime.fromisoformat(at), now)
        ]
        if missed:
            log.info("feeds that missed an announcement, searched since: %s", ", ".join(missed))
        return missed


def _parsed_topics(names: Iterable[str]) -> dict[Topic, str]:
    """Stored topics parsed back; one that no longer parses is logged and skipped."""
    topics: dict[Topic, str] = {}
    for name in names:
        try:
            topics[parse_topic(name)] = name
        except TopicError as exc:
            log.error("stored topic %r is not valid any more, skipped: %s", name, exc)
    return topics


def _next_cutoffs(
    papers: Mapping[str, Paper],
    hits: Mapping[Topic, list[str]],
    topics: Mapping[Topic, str],
    cutoffs: Mapping[Topic, datetime],
) -> dict[str, str]:
    """Per topic, the submission date before which a paper is no longer new to it: the
    newest paper seen for the topic less `OVERLAP` (late announcements), never moving
    backwards."""
    marks: dict[str, str] = {}
    for topic, name in topics.items():
        dates = [papers[i].published - OVERLAP for i in hits.get(topic, [])]
        marks[name] = max([cutoffs[topic], *dates]).isoformat()
    return marks
