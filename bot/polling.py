"""Polling: fetch what is new for every followed topic and queue it for the chats.

One poll reads each listing not yet read at the latest announcement once and
each group of keyword topics once (bot/arxiv/source.py; a listing that missed
an announcement is caught up from OAI-PMH), then stores the papers, the
deliveries now due, the topics' windows and the listings read in one
transaction, and records the poll (`PollReport`).
Once a day it runs the completeness audit (bot/audit.py).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.arxiv.source import ArxivSource, Window, plan
from bot.audit import Follower, audit, audit_due
from bot.clock import Clock
from bot.models import Paper
from bot.schedule import (
    latest_announcement,
    listing_day,
    missed_announcement,
    submissions_since,
)
from bot.topics import Topic, TopicError, parse_topic
from storage.audits import AuditRows
from storage.chats import ChatRows
from storage.database import Store
from storage.papers import PaperRows
from storage.polls import PollRows
from storage.rows import iso

log = logging.getLogger(__name__)

OVERLAP = timedelta(days=2)


@dataclass
class PollReport:
    topics: int = 0
    rss_requests: int = 0
    api_requests: int = 0
    oai_requests: int = 0
    papers_seen: int = 0
    papers_new: int = 0
    papers_updated: int = 0
    deliveries_queued: int = 0
    late_queued: int = 0  # papers the completeness audit found missing and queued
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
            f"rss={self.rss_requests} api={self.api_requests} oai={self.oai_requests} "
            f"seen={self.papers_seen} new={self.papers_new} updated={self.papers_updated} "
            f"queued={self.deliveries_queued} late={self.late_queued} errors={len(self.errors)} "
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
        subscribed: dict[str, str] = {}  # topic → when its latest subscriber came
        for row in subscriptions:
            by_topic.setdefault(row["topic"], []).append(row["chat"])
            subscribed[row["topic"]] = max(subscribed.get(row["topic"], ""), row["created_at"])
        topics = _parsed_topics(by_topic)
        report.topics = len(topics)
        marks = await self.store.call(PollRows.windows, list(by_topic))
        # a topic polled for the first time starts with the latest announcement
        first = (iso(submissions_since(listing_day(latest_announcement(now)))),) * 2
        windows = {
            topic: Window(*(datetime.fromisoformat(m) for m in marks.get(name, first)))
            for topic, name in topics.items()
        }
        counts = self.source.client.counts
        before = (counts.rss, counts.api, counts.oai)
        missed, current = await self._listings(topics, marks, subscribed)
        found = await self.source.poll(topics, windows, self._first_seen, now, missed, current)
        report.fetch_seconds = time.monotonic() - started
        items = [
            (chat, paper_id, topics[topic])
            for topic, paper_ids in found.hits.items()
            for paper_id in paper_ids
            for chat in by_topic[topics[topic]]
        ]
        rows = [p.to_row() for p in found.papers.values()]
        next_windows = _next_windows(found.papers, found.hits, topics, windows)
        days = {**current, **{n: d.isoformat() if d else None for n, d in found.listings.items()}}
        outcome, report.deliveries_queued = await self.store.call(
            PollRows.save_poll, rows, items, next_windows, iso(now), days
        )
        report.rss_requests = counts.rss - before[0]
        report.api_requests = counts.api - before[1]
        report.oai_requests = counts.oai - before[2]
        report.papers_seen = len(found.papers)
        report.papers_new = sum(1 for v in outcome.values() if v == "new")
        report.papers_updated = sum(1 for v in outcome.values() if v == "updated")
        report.errors = found.errors
        if audit_due(await self.store.call(AuditRows.last_audit_at), now):
            followers = [Follower(t, n, tuple(by_topic[n])) for t, n in topics.items()]
            audited = await audit(self.store, self.source, followers, now)
            report.late_queued = sum(row["missing"] for row in audited)
        report.seconds = time.monotonic() - started
        await self.store.call(PollRows.record_poll, report.row(now, self.clock()))
        log.info(report.log_line())
        return report

    async def _first_seen(self, ids: Iterable[str]) -> dict[str, datetime]:
        seen = await self.store.call(PaperRows.first_seen, list(ids))
        return {i: datetime.fromisoformat(at) for i, at in seen.items()}

    async def _listings(
        self,
        topics: Mapping[Topic, str],
        polled: Mapping[str, tuple[str, str]],
        subscribed: Mapping[str, str],
    ) -> tuple[dict[str, date], dict[str, str]]:
        """The listings that missed an announcement since they were last read, with the day
        to harvest their archive from (the day before the last listing read); and those
        already read at the latest announcement by every topic and subscriber they serve
        (name → its day): they are not read again until the next announcement."""
        listings = plan(topics).listings
        read = await self.store.call(PollRows.feeds_read, list(listings))
        now = self.clock()
        latest = listing_day(latest_announcement(now)).isoformat()
        missed: dict[str, date] = {}
        current: dict[str, str] = {}
        for name, (at, day) in read.items():
            if missed_announcement(datetime.fromisoformat(at), now):
                missed[name] = date.fromisoformat(day or at[:10]) - timedelta(days=1)
            elif day == latest and all(
                topics[t] in polled and subscribed[topics[t]] < at for t in listings[name]
            ):
                current[name] = day
        if missed:
            log.info("listings that missed an announcement, harvested: %s", ", ".join(missed))
        return missed, current


def _parsed_topics(names: Iterable[str]) -> dict[Topic, str]:
    """Stored topics parsed back; one that no longer parses is logged and skipped."""
    topics: dict[Topic, str] = {}
    for name in names:
        try:
            topics[parse_topic(name)] = name
        except TopicError as exc:
            log.error("stored topic %r is not valid any more, skipped: %s", name, exc)
    return topics


def _next_windows(
    papers: Mapping[str, Paper],
    hits: Mapping[Topic, list[str]],
    topics: Mapping[Topic, str],
    windows: Mapping[Topic, Window],
) -> dict[str, tuple[str, str]]:
    """Per topic, since when it is followed, and the submission date before which a paper
    is no longer new to it unless announced late: the newest paper seen for the topic
    less `OVERLAP`, never moving backwards."""
    marks: dict[str, tuple[str, str]] = {}
    for topic, name in topics.items():
        dates = [papers[i].published - OVERLAP for i in hits.get(topic, [])]
        window = windows[topic]
        marks[name] = (window.since.isoformat(), max([window.cutoff, *dates]).isoformat())
    return marks
