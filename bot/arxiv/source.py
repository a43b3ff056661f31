"""Find the papers of many topics with as few arXiv requests as correct.

arXiv's listings (RSS, one per category or archive) say what was announced
each day, whatever its submission date: a paper held by moderation for weeks
is listed the day it is announced. The query API knows submission dates only,
so a search by date never sees such a paper. Hence:

* Category topics, and keyword/author topics narrowed with `in:`, are read
  from category listings: at most one request per distinct category per poll
  (none for a listing the caller says is `current`), every topic matched
  locally against what the listing announced.
* Other keyword and author topics are matched against the archive-level
  listings (`cs`, `quant-ph`, ...) of every archive whose categories the bot
  reads, and also OR-combined into groups of up to `GROUP_SIZE` and searched
  through the API, newest first, paging until the page reaches papers older
  than the group's cutoff (or papers already known), for archives no listing
  covers.
* A raw query is searched on its own: arXiv alone decides what matches it. Its
  search reaches back `HOLD_WINDOW` before its cutoff, so that a paper
  announced late (held, or late in the API's index) is still found.
* A listing shows only the latest announcement. When one was missed (the bot
  was down, or the listing failed through a whole announcement), the archive's
  OAI-PMH set is harvested from the last day read: every record arXiv made
  public since, with its datestamp. A first version whose datestamp is within
  `HOLD_WINDOW` of its submission was announced then, and is matched against
  the missed listings' topics like a listing item.

A paper submitted before a topic's cutoff is new to it only when it is a
first version that arXiv announced recently: listed in a listing read now, or
first seen by paperbot less than `LATE_WINDOW` ago (or never), and submitted
after the topic was first polled. A replacement is never new.

The result assigns every found paper to the topics it belongs to; what to
deliver to whom is the service's business.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.arxiv.client import PAGE_SIZE, ArxivClient
from bot.arxiv.parse import ArxivQueryError
from bot.categories import archive_of, in_category
from bot.models import Paper
from bot.retry import ServiceUnavailable
from bot.topics import Topic, TopicKind

log = logging.getLogger(__name__)

GROUP_SIZE = 20
MAX_QUERY_CHARS = 2000
MAX_PAGES = 5
# moderation holds a paper at most about three weeks (plus a weekend) before announcing it
HOLD_WINDOW = timedelta(days=28)
# a paper paperbot first saw this recently was announced recently
LATE_WINDOW = timedelta(days=3)
# searches that reach back `HOLD_WINDOW` read this many results per request
LATE_PAGE_SIZE = 1000
# arXiv's listings stop at this many items (its RSS documentation)
LISTING_LIMIT = 2000

# ids → when paperbot first saw each of them (absent: never)
FirstSeen = Callable[[Iterable[str]], Awaitable[dict[str, datetime]]]


@dataclass(frozen=True)
class Window:
    """What is new to a topic: papers submitted after `cutoff`, and first versions
    announced late that were submitted after `since` (when it was first polled)."""

    since: datetime
    cutoff: datetime


@dataclass(frozen=True)
class Group:
    """Topics fetched together by one API search."""

    topics: tuple[Topic, ...]

    @property
    def query(self) -> str:
        if len(self.topics) == 1:
            return self.topics[0].api_clause
        return " OR ".join(f"({t.api_clause})" for t in self.topics)

    def matching(self, paper: Paper) -> list[Topic]:
        if len(self.topics) == 1 and self.topics[0].kind is TopicKind.QUERY:
            return list(self.topics)
        return [t for t in self.topics if t.matches(paper)]


@dataclass
class Found:
    """What one fetch found: papers by id and, per topic, the ids that belong to it;
    the listings read, with the announcement day each showed."""

    papers: dict[str, Paper] = field(default_factory=dict)
    hits: dict[Topic, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    listings: dict[str, date | None] = field(default_factory=dict)
    announced: set[str] = field(default_factory=set)

    def add(self, paper: Paper, topics: Iterable[Topic]) -> None:
        current = self.papers.get(paper.id)
        if current is None or paper.version > current.version:
            self.papers[paper.id] = paper
        for topic in topics:
            ids = self.hits.setdefault(topic, [])
            if paper.id not in ids:
                ids.append(paper.id)


@dataclass(frozen=True)
class Plan:
    """Which listings to read (name → topics matched against it) and which API searches
    to make: `groups` down to their cutoff, `queries` back `HOLD_WINDOW`."""

    listings: dict[str, list[Topic]]
    groups: list[Group]
    queries: list[Group]


def plan(topics: Iterable[Topic]) -> Plan:
    """Split topics into listings and API searches."""
    listings: dict[str, list[Topic]] = {}
    searched: list[Topic] = []
    queries: list[Group] = []
    for topic in sorted(set(topics), key=lambda t: t.canonical):
        if topic.feeds:
            for category in topic.feeds:
                listings.setdefault(category, []).append(topic)
        elif topic.kind is TopicKind.QUERY:
            queries.append(Group((topic,)))
        else:
            searched.append(topic)
    if searched:
        for archive in sorted({archive_of(name) for name in listings}):
            listings.setdefault(archive, []).extend(searched)
    return Plan(dict(sorted(listings.items())), grouped(searched), queries)


def grouped(topics: Iterable[Topic]) -> list[Group]:
    """OR-combined groups of at most `GROUP_SIZE` topics and `MAX_QUERY_CHARS`."""
    groups: list[Group] = []
    current: list[Topic] = []
    for topic in sorted(set(topics), key=lambda t: t.canonical):
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
        windows: dict[Topic, Window],
        first_seen: FirstSeen,
        now: datetime,
        backfill: Mapping[str, date] | None = None,
        current: Collection[str] = (),
    ) -> Found:
        """New papers of every topic: the latest listings (but those `current`, already
        read at the latest announcement), and API results new to each topic's window.
        `backfill`: listings that missed an announcement, with the day to harvest their
        archive from. A failing listing, harvest or search is reported in `errors` and
        does not stop the others."""
        todo = plan(topics)
        found = Found()
        for name, listing_topics in todo.listings.items():
            if name not in current:
                reading = self._read_listing(name, listing_topics, found)
                await self._guard(found, f"RSS {name}", reading)
        missed = {n: day for n, day in (backfill or {}).items() if n in todo.listings}
        for archive in sorted({archive_of(n) for n in missed}):
            names = {n: todo.listings[n] for n in missed if archive_of(n) == archive}
            since = min(missed[n] for n in names)
            await self._guard(
                found, f"OAI-PMH {archive}", self._catch_up(archive, since, names, found)
            )
        searches = [(g, False) for g in todo.groups] + [(q, True) for q in todo.queries]
        for group, late in searches:
            search = _Search(group, windows, first_seen, now, found, late=late)
            await self._guard(found, f"API {group.query[:80]}", self._search(search))
        return found

    async def search(self, topics: Iterable[Topic], since: datetime, limit: int) -> Found:
        """Papers of the topics submitted since `since`, via the API only (digests).

        Raises `ServiceUnavailable` or `ArxivQueryError`: a digest is all or nothing.
        """
        found = Found()
        for group in grouped(topics):
            for page_number in range(MAX_PAGES):
                page = await self.client.search(group.query, start=page_number * PAGE_SIZE)
                for paper in page.papers:
                    found.add(paper, group.matching(paper) if paper.published >= since else [])
                if (
                    len(page.papers) < PAGE_SIZE
                    or min(p.published for p in page.papers) < since
                    or all(len(found.hits.get(t, [])) >= limit for t in group.topics)
                ):
                    break
        return found

    async def lookup(self, ids: list[str]) -> list[Paper]:
        return await self.client.papers(ids)

    async def _guard(self, found: Found, what: str, work: Awaitable[None]) -> None:
        try:
            await work
        except (ServiceUnavailable, ArxivQueryError) as exc:
            log.warning("%s failed: %s", what, exc)
            found.errors.append(f"{what}: {exc}")

    async def _read_listing(self, name: str, topics: list[Topic], found: Found) -> None:
        listing = await self.client.feed(name)
        if len(listing.items) >= LISTING_LIMIT:
            log.warning(
                "listing %s has %d items, arXiv's limit: it may be cut short",
                name,
                len(listing.items),
            )
        for item in listing.items:
            matched = [t for t in topics if t.matches(item.paper)] if item.is_new else []
            if item.is_new:
                found.announced.add(item.paper.id)
            found.add(item.paper, matched)
        found.listings[name] = listing.day

    async def _catch_up(
        self, archive: str, since: date, listings: dict[str, list[Topic]], found: Found
    ) -> None:
        """What the missed listings announced, from the archive's OAI-PMH records."""
        for paper, stamp in await self.client.harvest(archive, since):
            if paper.version > 1 or paper.published.date() < stamp - HOLD_WINDOW:
                continue  # a replacement, or a correction of an older paper
            matched = [
                topic
                for name, topics in listings.items()
                if in_category(paper.categories, name)
                for topic in topics
                if topic.matches(paper)
            ]
            found.announced.add(paper.id)
            found.add(paper, matched)

    async def _search(self, search: _Search) -> None:
        size = LATE_PAGE_SIZE if search.late else PAGE_SIZE
        for page_number in range(MAX_PAGES):
            page = await self.client.search(search.group.query, page_number * size, size)
            if not await search.take(page.papers) or len(page.papers) < size:
                return


@dataclass
class _Search:
    """One API search for a group: which of its results are new to which topic, and
    whether to read on. `late`: read back `HOLD_WINDOW` before the cutoff (raw
    queries) instead of stopping at the cutoff or at known papers."""

    group: Group
    windows: dict[Topic, Window]
    first_seen: FirstSeen
    now: datetime
    found: Found
    late: bool

    async def take(self, papers: list[Paper]) -> bool:
        """Assign a page of results; returns whether the next page is wanted."""
        if not papers:
            return False
        seen = await self.first_seen(p.id for p in papers)
        for paper in papers:
            topics = [t for t in self.group.matching(paper) if self._new_to(t, paper, seen)]
            self.found.add(paper, topics)
        windows = [self.windows[t] for t in self.group.topics]
        oldest = min(p.published for p in papers)
        if self.late:
            return oldest >= min(max(w.since, w.cutoff - HOLD_WINDOW) for w in windows)
        return oldest >= min(w.cutoff for w in windows) and not seen.keys() >= {
            p.id for p in papers
        }

    def _new_to(self, topic: Topic, paper: Paper, seen: dict[str, datetime]) -> bool:
        window = self.windows[topic]
        if paper.published >= window.cutoff:
            return True
        announced_late = paper.id in self.found.announced or (
            paper.published >= window.since
            and seen.get(paper.id, self.now) > self.now - LATE_WINDOW
        )
        return paper.version == 1 and announced_late
