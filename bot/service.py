"""The service: every action paperbot takes, independent of the chat platform.

Adapters and the CLI call these methods; nothing here knows Telegram,
Discord or the terminal. Storage is reached through `Store.call` (its own
thread), arXiv through `ArxivSource`, summaries through `SummaryCache`
(bot/summaries.py), shared by every chat.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial

from bot.arxiv.ids import ArxivId, parse_arxiv_id
from bot.arxiv.source import ArxivSource
from bot.chat_settings import default_chat_settings, parse_setting
from bot.config import Settings
from bot.delivery import ChatUnavailable, DeliveryFailed, MessageRejected, Platform
from bot.figures import FigureSource
from bot.models import Card, Chat, Digest, Paper, Progress, Summary, unwatched
from bot.retry import CircuitBreaker, RetryPolicy, ServiceUnavailable
from bot.schedule import is_due, missed_announcement
from bot.summaries import SummaryCache
from bot.summarize import Summarizer
from bot.topics import Topic, TopicError, parse_topic
from storage.database import Store
from storage.repository import Repository, Row, iso

log = logging.getLogger(__name__)

FIRST_POLL_WINDOW = timedelta(days=2)
OVERLAP = timedelta(days=2)
# A failed delivery is retried after about 1, 2, 4, ... minutes (at most 6 hours apart,
# or when the platform's Retry-After says); after 10 failed attempts made while its
# platform worked for other chats (4 to 8 hours), it is given up (`failed`).
DELIVERY_RETRY = RetryPolicy(attempts=10, base_delay=60.0, max_delay=6 * 3600.0)
# A platform counts as down after 5 failed sends in a row; probed after 1 minute,
# then 2, 4, ... at most 30 minutes apart.
PLATFORM_FAILURES, PLATFORM_COOLDOWN, PLATFORM_MAX_COOLDOWN = 5, 60.0, 1800.0
SCHEDULE_SETTINGS = frozenset({"mode", "digest_time", "timezone"})
# Chats served at once by one delivery pass: a platform's per-chat rate limit (Telegram:
# about one message a second) then costs one chat's time, not the sum over all chats.
DELIVERY_CONCURRENCY = 64

Clock = Callable[[], datetime]


class PaperNotFound(LookupError):
    """arXiv has no paper with this id (or version)."""


@dataclass(frozen=True)
class ChatRef:
    """A chat as a platform names it."""

    platform: str
    chat_id: str
    kind: str = "private"
    title: str = ""


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


@dataclass
class DeliveryReport:
    cards: int = 0
    digests: int = 0
    papers: int = 0
    failed: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    given_up: int = 0
    waiting: int = 0  # chats not tried because their platform is down (circuit open)

    @property
    def eventful(self) -> bool:
        return bool(self.papers or self.failed or self.paused or self.waiting)


def utc_now() -> datetime:
    return datetime.now(UTC)


class PaperService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        source: ArxivSource,
        summarizer: Summarizer,
        figures: FigureSource,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.store = store
        self.source = source
        self.figures = figures
        self.clock = clock
        self.summaries = SummaryCache(
            store, summarizer, lambda paper: self.figures.fulltext(paper), lambda: self.clock()
        )
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._circuits: dict[str, CircuitBreaker] = {}
        self._stopping = False

    # chats and subscriptions

    async def chat(self, ref: ChatRef) -> Chat:
        defaults = {**default_chat_settings(self.settings.language), "kind": ref.kind}
        defaults["title"] = ref.title
        defaults["created_at"] = iso(self.clock())
        row = await self.store.call(lambda r: r.ensure_chat(ref.platform, ref.chat_id, defaults))
        return Chat.from_row(row)

    async def known_chat(self, ref: ChatRef) -> Chat | None:
        """The stored chat, without creating it."""
        row = await self.store.call(lambda r: r.chat(ref.platform, ref.chat_id))
        return None if row is None else Chat.from_row(row)

    async def move_chat(self, ref: ChatRef, chat_id: str) -> None:
        """The platform gave the chat a new id (a Telegram group became a supergroup): its
        topics, settings and queued papers follow, and it is active again. Nothing moves
        when the new id is already a chat of its own."""
        chat = await self.known_chat(ref)
        if chat is None or await self.known_chat(replace(ref, chat_id=chat_id)) is not None:
            return
        changes = {"chat_id": chat_id, "active": 1, "paused_reason": None}
        await self.store.call(lambda r: r.update_chat(chat.id, changes))
        log.info("chat %s:%s is now %s", ref.platform, ref.chat_id, chat_id)

    async def subscribe(self, chat: Chat, topics: list[Topic]) -> tuple[list[str], list[str]]:
        """Returns (added, already followed) canonical topics."""
        names = [t.canonical for t in topics]
        added = await self.store.call(lambda r: r.subscribe(chat.id, names))
        return added, [n for n in names if n not in added]

    async def unsubscribe(self, chat: Chat, topics: list[Topic] | None) -> list[str]:
        names = None if topics is None else [t.canonical for t in topics]
        return await self.store.call(lambda r: r.unsubscribe(chat.id, names))

    async def topics(self, chat: Chat) -> list[str]:
        return await self.store.call(lambda r: r.topics_of(chat.id))

    async def change_setting(self, chat: Chat, name: str, value: str) -> Chat:
        """Change one setting. A new daily schedule (mode, time or time zone) starts now:
        the next digest is at the next occurrence of the chat's time."""
        changes = parse_setting(name, value)
        if SCHEDULE_SETTINGS & changes.keys() and changes.get("mode", chat.mode) == "daily":
            changes["last_digest_at"] = iso(self.clock())
        row = await self.store.call(lambda r: r.update_chat(chat.id, changes))
        return Chat.from_row(row)

    async def set_active(self, chat: Chat, active: bool, reason: str = "") -> None:
        changes = {"active": int(active), "paused_reason": None if active else reason}
        await self.store.call(lambda r: r.update_chat(chat.id, changes))

    async def chats(self, platform: str) -> list[Chat]:
        """Every chat of a platform, active or paused."""
        return [Chat.from_row(row) for row in await self.store.call(lambda r: r.chats(platform))]

    async def remove_chat(self, chat: Chat) -> None:
        """Forget a chat: its settings, topics and undelivered papers."""
        await self.store.call(lambda r: r.delete_chat(chat.id))

    # papers and cards

    async def paper(self, ident: ArxivId) -> Paper:
        """The paper from arXiv (the stored copy when arXiv is unreachable)."""
        try:
            found = await self.source.lookup([str(ident)])
        except ServiceUnavailable:
            row = await self.store.call(lambda r: r.paper(ident.base))
            if row is None or (ident.version is not None and row["version"] != ident.version):
                raise
            log.warning("arXiv unreachable; using the stored copy of %s", ident)
            return Paper.from_row(row)
        matching = [p for p in found if p.id == ident.base]
        if not matching:
            raise PaperNotFound(f"no arXiv paper {ident}")
        paper = matching[0]
        await self.store.call(lambda r: r.upsert_papers([paper.to_row()]))
        return paper

    async def card(self, paper: Paper, language: str, figures: bool = True) -> Card:
        summary = await self.summary(paper, language)
        figure = None
        if figures:
            found = await self.figures.figures(paper)
            figure = found[0] if found else None
        pdf_url = paper.pdf_url(self.settings.arxiv_pdf_url)
        return Card(paper=paper, summary=summary, language=language, pdf_url=pdf_url, figure=figure)

    async def known_card(self, paper_id: str, language: str, figures: bool = False) -> Card:
        """The card of a paper sent earlier (a "Details" button): the stored metadata and the
        cached summary; arXiv is asked only for a paper that is not stored."""
        row = await self.store.call(lambda r: r.paper(paper_id))
        paper = Paper.from_row(row) if row else await self.paper(parse_arxiv_id(paper_id))
        return await self.card(paper, language, figures)

    async def summary(self, paper: Paper, language: str) -> Summary:
        """The paper's summary in `language`, cached and shared (see bot/summaries.py)."""
        return await self.summaries.summary(paper, language)

    async def upgrade_summaries(self) -> int:
        """Ask the model again for summaries that fell back to extractive while it failed."""
        return await self.summaries.upgrade()

    @property
    def summarizer(self) -> Summarizer:
        return self.summaries.summarizer

    @summarizer.setter
    def summarizer(self, summarizer: Summarizer) -> None:
        self.summaries.summarizer = summarizer

    async def stats(self) -> dict[str, object]:
        """Figures for `paperbot stats`: what is stored, what is due, the last polls."""
        counts = await self.store.call(Repository.counts)
        deliveries = await self.store.call(Repository.delivery_counts)
        retrying = await self.store.call(Repository.retrying)
        last = await self.store.call(Repository.last_poll)
        last_ok = await self.store.call(Repository.last_successful_poll)
        figures: dict[str, object] = dict(counts)
        figures.update(await self.store.call(Repository.summary_stats))
        for status in ("pending", "sent", "failed"):
            figures[f"deliveries_{status}"] = deliveries.get(status, 0)
        figures["deliveries_retrying"] = retrying
        if last is None:
            figures["last_poll"] = "never"
        else:
            errors = json.loads(last["errors"] or "[]")
            figures["last_poll"] = last["finished_at"]
            figures["last_poll_result"] = (
                f"{last['papers_seen']} papers seen, {last['papers_new']} new, "
                f"{last['deliveries_queued']} deliveries queued, {len(errors)} errors"
                + ("" if last["ok"] else ": " + "; ".join(errors))
            )
            figures["last_successful_poll"] = last_ok["finished_at"] if last_ok else "never"
        return figures

    # polling

    async def poll(self) -> PollReport:
        """Fetch new papers for every followed topic and queue them for the chats."""
        started = time.monotonic()
        now = self.clock()
        report = PollReport()
        subscriptions = await self.store.call(Repository.active_subscriptions)
        by_topic: dict[str, list[int]] = {}
        for row in subscriptions:
            by_topic.setdefault(row["topic"], []).append(row["chat"])
        topics = _parsed_topics(by_topic)
        report.topics = len(topics)
        marks = await self.store.call(lambda r: r.cutoffs(by_topic))
        cutoffs = {
            topic: datetime.fromisoformat(marks[name]) if name in marks else now - FIRST_POLL_WINDOW
            for topic, name in topics.items()
        }
        counts_before = (self.source.client.counts.rss, self.source.client.counts.api)

        async def known(ids: Iterable[str]) -> set[str]:
            wanted = list(ids)
            return await self.store.call(lambda r: r.known_ids(wanted))

        categories = {c for topic in topics for c in topic.feeds}
        read = await self.store.call(lambda r: r.feeds_read(categories))
        missed = [
            c for c, at in read.items() if missed_announcement(datetime.fromisoformat(at), now)
        ]
        if missed:
            log.info("feeds that missed an announcement, searched since: %s", ", ".join(missed))
        found = await self.source.poll(topics, cutoffs, known, missed)
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
            lambda r: r.save_poll(rows, items, next_cutoffs, iso(now), found.feeds_read)
        )
        report.rss_requests = self.source.client.counts.rss - counts_before[0]
        report.api_requests = self.source.client.counts.api - counts_before[1]
        report.papers_seen = len(found.papers)
        report.papers_new = sum(1 for v in outcome.values() if v == "new")
        report.papers_updated = sum(1 for v in outcome.values() if v == "updated")
        report.errors = found.errors
        report.seconds = time.monotonic() - started
        await self.store.call(lambda r: r.record_poll(_poll_row(report, now, self.clock())))
        log.info(
            "poll: ok=%s topics=%d rss=%d api=%d seen=%d new=%d updated=%d queued=%d errors=%d "
            "fetch=%.2fs total=%.2fs",
            "yes" if report.ok else "no",
            report.topics,
            report.rss_requests,
            report.api_requests,
            report.papers_seen,
            report.papers_new,
            report.papers_updated,
            report.deliveries_queued,
            len(report.errors),
            report.fetch_seconds,
            report.seconds,
        )
        return report

    # delivery

    def request_stop(self) -> None:
        """Shutting down: deliveries stop after the message in flight (the rest stays due)."""
        self._stopping = True

    def circuit(self, platform: str) -> CircuitBreaker:
        """The platform's circuit breaker: closed while it takes messages."""
        if platform not in self._circuits:
            self._circuits[platform] = CircuitBreaker(
                f"{platform} deliveries",
                PLATFORM_FAILURES,
                PLATFORM_COOLDOWN,
                PLATFORM_MAX_COOLDOWN,
                self._seconds,
            )
        return self._circuits[platform]

    def _seconds(self) -> float:
        return self.clock().timestamp()

    async def deliver_due(self, platforms: Mapping[str, Platform]) -> DeliveryReport:
        """Send what is due now to every active chat of the given platforms: instant
        chats' papers, daily digests whose time has come, retries whose wait is over.
        Chats are served concurrently (at most `DELIVERY_CONCURRENCY` at once), each in
        order; a chat whose platform is down waits without holding up the others."""
        report = DeliveryReport()
        now = self.clock()
        candidates = await self.store.call(lambda r: r.delivery_candidates(iso(now)))
        slots = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def deliver(chat: Chat, platform: Platform) -> None:
            async with slots:
                if self._stopping:
                    return
                if not self.circuit(chat.platform).allows():
                    report.waiting += 1
                    return
                try:
                    await self.deliver_chat(chat, platform, report, scheduled=True)
                except Exception as exc:  # one chat's unexpected failure must not stop others
                    log.exception("delivery to %s:%s crashed", chat.platform, chat.chat_id)
                    report.failed.append(f"{chat.platform}:{chat.chat_id}: {exc}")

        due = []
        for row in candidates:
            chat = Chat.from_row(row)
            platform = platforms.get(chat.platform)
            if platform is not None and is_due(
                chat, now, datetime.fromisoformat(row["oldest_due"])
            ):
                due.append((chat, platform))
        tasks = [asyncio.create_task(deliver(chat, platform)) for chat, platform in due]
        try:
            await asyncio.gather(*tasks)
        finally:  # a crash (cancellation, interrupt) in one chat stops all of them
            for task in tasks:
                task.cancel()
        return report

    async def deliver_chat(
        self,
        chat: Chat,
        platform: Platform,
        report: DeliveryReport | None = None,
        *,
        scheduled: bool = False,
    ) -> DeliveryReport:
        """Send what waits for one chat: cards one by one in instant mode when they are
        few, otherwise one digest. `scheduled`: only what is due now, and only when the
        chat's schedule says so; otherwise (`/digest`) everything not yet sent, now.
        One chat is served by one caller at a time, and what is due is read afresh
        under that lock, so concurrent passes never send a paper twice."""
        report = report or DeliveryReport()
        async with self._chat_locks.setdefault(chat.id, asyncio.Lock()):
            now = self.clock()
            fresh, waiting = await self.store.call(
                lambda r: _waiting(r, chat.id, iso(now), scheduled)
            )
            if fresh is None or not waiting:
                return report
            chat = Chat.from_row(fresh)
            oldest = datetime.fromisoformat(waiting[0]["created_at"])
            if scheduled and not (chat.active and is_due(chat, now, oldest)):
                return report
            await self._send(chat, platform, waiting, report)
        return report

    async def _send(
        self, chat: Chat, platform: Platform, waiting: list[Row], report: DeliveryReport
    ) -> None:
        rows = await self.store.call(lambda r: r.papers([d["paper_id"] for d in waiting]))
        papers = [Paper.from_row(row) for row in rows]
        by_id = {d["paper_id"]: d for d in waiting}
        if chat.mode == "instant" and len(papers) <= chat.max_papers:
            for paper in papers:
                card = partial(self.card, paper, chat.language, chat.figures)
                if self._stopping or not await self._attempt(
                    chat, platform, [by_id[paper.id]], report, card
                ):
                    return
            return
        topics = sorted({d["topic"] for d in waiting})
        digest = partial(self.digest, chat, papers, topics)
        if await self._attempt(chat, platform, waiting, report, digest) and chat.mode == "daily":
            sent_at = iso(self.clock())
            await self.store.call(lambda r: r.update_chat(chat.id, {"last_digest_at": sent_at}))

    async def _attempt(
        self,
        chat: Chat,
        platform: Platform,
        rows: list[Row],
        report: DeliveryReport,
        message: Callable[[], Awaitable[Card | Digest]],
    ) -> bool:
        """Make and send one message for `rows`, then record them sent (a digest's papers
        as each of its messages is confirmed), and return whether this chat's next
        message may go now. On failure, decide who is to
        blame: a chat that is gone is paused; a platform in trouble counts against its
        circuit (the message is charged only while the circuit stays closed); anything
        else (a rejected message, a bug) is charged to the message."""
        circuit = self.circuit(platform.name)
        where = f"{chat.platform}:{chat.chat_id}"
        unsent = {d["paper_id"]: d for d in rows}

        async def sent(paper_ids: list[str]) -> None:
            """Record papers as sent as soon as the platform confirmed their message."""
            ids = [unsent.pop(p)["id"] for p in paper_ids if p in unsent]
            if ids:
                await self.store.call(lambda r: r.mark_sent(ids, iso(self.clock())))
                report.papers += len(ids)

        try:
            made = await message()
            if isinstance(made, Card):
                await platform.send_card(chat, made)
            else:
                await platform.send_digest(chat, made, sent)
        except ChatUnavailable as exc:
            circuit.succeeded()
            await self.set_active(chat, False, str(exc))
            report.paused.append(where)
            log.warning("chat %s paused: %s", where, exc)
            return False
        except Exception as exc:
            report.failed.append(f"{where}: {exc}")
            trouble = isinstance(exc, DeliveryFailed) and not isinstance(exc, MessageRejected)
            if trouble:
                circuit.failed()
                if not circuit.closed:
                    log.warning("%s waits while %s is down: %s", where, platform.name, exc)
                    return False
            elif isinstance(exc, MessageRejected):
                circuit.succeeded()
            elif not isinstance(exc, ServiceUnavailable):
                log.exception("delivery to %s crashed", where)
            if unsent:
                report.given_up += await self._attempt_failed(where, list(unsent.values()), exc)
            return not trouble
        circuit.succeeded()
        await sent(list(unsent))
        if isinstance(made, Card):
            report.cards += 1
        else:
            report.digests += 1
        return True

    async def _attempt_failed(self, where: str, rows: list[Row], exc: Exception) -> int:
        """Charge a failed attempt to the rows and defer them by the retry policy;
        returns how many were given up."""
        policy = DELIVERY_RETRY
        attempt = 1 + max(d["attempts"] for d in rows)
        wait = policy.delay(attempt, getattr(exc, "retry_after", None))
        retry_at = iso(self.clock() + timedelta(seconds=wait))
        error = str(exc) or type(exc).__name__
        ids = [d["id"] for d in rows]
        given_up = await self.store.call(
            lambda r: r.mark_attempt_failed(ids, error, retry_at, policy.attempts)
        )
        if given_up:
            log.error(
                "gave up %d deliveries to %s after %d attempts: %s", given_up, where, attempt, error
            )
        else:
            log.warning(
                "delivery to %s failed (attempt %d), retry in %.0fs: %s",
                where,
                attempt,
                wait,
                error,
            )
        return given_up

    async def topic_digest(
        self,
        topics: list[Topic],
        since: datetime,
        limit: int,
        language: str,
        progress: Progress = unwatched,
    ) -> Digest:
        """The newest papers (at most `limit`) of the topics submitted since `since`,
        searched afresh on arXiv (for `paperbot digest` and blog posts); `progress` hears
        how many were found and how many cards are made."""
        found = await self.source.search(topics, since, limit)
        ids = list(dict.fromkeys(i for t in topics for i in found.hits.get(t, [])))
        papers = sorted((found.papers[i] for i in ids), key=lambda p: p.published, reverse=True)
        chosen = papers[:limit]
        await self.store.call(lambda r: r.upsert_papers(p.to_row() for p in chosen))
        progress(f"{len(chosen)} papers found", 0, 0)
        cards: list[Card] = []
        for paper in chosen:
            progress("summaries and figures", len(cards), len(chosen))
            cards.append(await self.card(paper, language))
        names = [t.canonical for t in topics]
        return Digest(cards=cards, topics=names, day=self.clock().date(), language=language)

    async def digest(self, chat: Chat, papers: list[Paper], topics: list[str]) -> Digest:
        cards = [await self.card(p, chat.language, chat.figures) for p in papers]
        return Digest(cards=cards, topics=topics, day=self.clock().date(), language=chat.language)


def _waiting(
    repo: Repository, chat: int, now: str, scheduled: bool
) -> tuple[Row | None, list[Row]]:
    """The chat's row and what waits for it: due now (`scheduled`) or all unsent."""
    return repo.chat_by_id(chat), repo.due(chat, now) if scheduled else repo.unsent(chat)


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


def _poll_row(report: PollReport, started: datetime, finished: datetime) -> dict[str, object]:
    return {
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "rss_requests": report.rss_requests,
        "api_requests": report.api_requests,
        "papers_seen": report.papers_seen,
        "papers_new": report.papers_new,
        "deliveries_queued": report.deliveries_queued,
        "errors": json.dumps(report.errors),
        "ok": int(report.ok),
    }
