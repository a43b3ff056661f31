"""Find the papers of many topics with as few arXiv requests as correct.

* Category topics, and keyword/author topics narrowed with `in:`, are read
  from category RSS feeds: one request per distinct category per poll, every
  topic matched locally against what the feed announced.
* Other keyword and author topics are OR-combined into groups of up to
  `GROUP_SIZE` and searched through the API, newest first, paging until the
  page reaches papers older than the group's cutoff (or papers already known).
* A raw query is searched on its own: arXiv alone decides what matches it.
* A feed lists only the latest announcement. When one was missed (the bot was
  down, or the feed failed through a whole announcement), the topics read from
  that feed are also searched through the API since their cutoffs.

The result assigns every found paper to the topics it belongs to; what to
deliver to whom is the service's business.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.arxiv.client import PAGE_SIZE, ArxivClient
from bot.arxiv.parse import ArxivQueryError
from bot.models import Paper
from bot.retry import ServiceUnavailable
from bot.topics import Topic, TopicKind

log = logging.getLogger(__name__)

GROUP_SIZE = 20
MAX_QUERY_CHARS = 2000
MAX_PAGES = 5

KnownIds = Callable[[Iterable[str]], Awaitable[set[str]]]


@dataclass(frozen=True)
class Group:
    """Topics fetched together by one API search."""

    topics: tuple[Topic, ...]

    @property
    def query(self) -> str:
        if len(self.topics) == 1:
            return self.topics[0].api_clause
        return " OR ".join(f"({t.api_clause})" for t in self.topics)

    def assign(self, paper: Paper) -> list[Topic]:
        if len(self.topics) == 1 and self.topics[0].kind is TopicKind.QUERY:
            return list(self.topics)
        return [t for t in self.topics if t.matches(paper)]


@dataclass
class Found:
    """What one fetch found: papers by id and, per topic, the ids that belong to it."""

    papers: dict[str, Paper] = field(default_factory=dict)
    hits: dict[Topic, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    feeds_read: list[str] = field(default_factory=list)

    def add(self, paper: Paper, topics: Iterable[Topic]) -> None:
        current = self.papers.get(paper.id)
        if current is None or paper.version > current.version:
            self.papers[paper.id] = paper
        for topic in topics:
            ids = self.hits.setdefault(topic, [])
            if paper.id not in ids:
                ids.append(paper.id)


def plan(topics: Iterable[Topic]) -> tuple[dict[str, list[Topic]], list[Group]]:
    """Split topics into RSS feeds (category → topics) and API groups."""
    feeds: dict[str, list[Topic]] = {}
    searched: list[Topic] = []
    groups: list[Group] = []
    for topic in sorted(set(topics), key=lambda t: t.canonical):
        if topic.feeds:
            for category in topic.feeds:
                feeds.setdefault(category, []).append(topic)
        elif topic.kind is TopicKind.QUERY:
            groups.append(Group((topic,)))
        else:
            searched.append(topic)
    return dict(sorted(feeds.items())), _grouped(searched) + groups


def _grouped(topics: list[Topic]) -> list[Group]:
    groups: list[Group] = []
    current: list[Topic] = []
    for topic in topics:
        candidate = Group((*current, topic))
        if current and (
            len(candidate.topics) > GROUP_SIZE or len(candidate.query) > MAX_QUERY_CHARS
        ):
            groups.append(Group(tuple(current)))
            current = [topic]
        else:
            current.append(topic)
    if current:
        groups.append(Group(tuple(current)))
    return groups


class ArxivSource:
    def __init__(self, client: ArxivClient) -> None:
        self.client = client

    async def poll(
        self,
        topics: Iterable[Topic],
        cutoffs: dict[Topic, datetime],
        known: KnownIds,
        backfill: Collection[str] = (),
    ) -> Found:
        """New papers of every topic: the latest RSS announcements and API results
        submitted after each topic's cutoff; the topics of the feeds in `backfill`
        (which missed an announcement) are searched through the API as well. A
        failing feed or group is reported in `errors` and does not stop the others;
        the feeds read are listed in `feeds_read`."""
        feeds, groups = plan(topics)
        found = Found()
        for category, feed_topics in feeds.items():
            await self._guard(
                found, f"RSS {category}", self._read_feed(category, feed_topics, found)
            )
        missed = {t for category in backfill for t in feeds.get(category, [])}
        for group in _grouped(sorted(missed, key=lambda t: t.canonical)) + groups:
            since = min(cutoffs[t] for t in group.topics)
            await self._guard(
                found, f"API {group.query[:80]}", self._search(group, since, known, found)
            )
        return found

    async def search(self, topics: Iterable[Topic], since: datetime, limit: int) -> Found:
        """Papers of the topics submitted since `since`, via the API only (digests).

        Raises `ServiceUnavailable` or `ArxivQueryError`: a digest is all or nothing.
        """
        found = Found()
        for group in _grouped(sorted(set(topics), key=lambda t: t.canonical)):
            await self._search(group, since, None, found, limit)
        return found

    async def lookup(self, ids: list[str]) -> list[Paper]:
        return await self.client.papers(ids)

    async def _guard(self, found: Found, what: str, work: Awaitable[None]) -> None:
        try:
            await work
        except (ServiceUnavailable, ArxivQueryError) as exc:
            log.warning("%s failed: %s", what, exc)
            found.errors.append(f"{what}: {exc}")

    async def _read_feed(self, category: str, topics: list[Topic], found: Found) -> None:
        listing = await self.client.feed(category)
        for item in listing.items:
            matched = [t for t in topics if t.matches(item.paper)] if item.is_new else []
            found.add(item.paper, matched)
        found.feeds_read.append(category)

    async def _search(
        self,
        group: Group,
        since: datetime,
        known: KnownIds | None,
        found: Found,
        limit: int | None = None,
    ) -> None:
        for page_number in range(MAX_PAGES):
            page = await self.client.search(group.query, start=page_number * PAGE_SIZE)
            for paper in page.papers:
                found.add(paper, group.assign(paper) if paper.published >= since else [])
            if not page.papers or len(page.papers) < PAGE_SIZE:
                return
            if min(p.published for p in page.papers) < since:
                return
            if known is not None and await known(p.id for p in page.papers) >= {
                p.id for p in page.papers
            }:
                return
            if limit is not None and all(len(found.hits.get(t, [])) >= limit for t in group.topics):
                return
