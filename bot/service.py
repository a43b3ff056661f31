"""The service: every action paperbot takes, independent of the chat platform.

Adapters and the CLI call these methods; nothing here knows Telegram,
Discord or the terminal. Storage is reached through `Store.call` (its own
thread), arXiv through `ArxivSource`, summaries through a `Summarizer` with a
database cache shared by every chat.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot.arxiv.ids import ArxivId, parse_arxiv_id
from bot.arxiv.source import ArxivSource
from bot.chat_settings import default_chat_settings, parse_setting
from bot.config import Settings
from bot.delivery import ChatUnavailable, DeliveryFailed, Platform
from bot.figures import FigureSource
from bot.models import Card, Chat, Digest, Paper, Summary
from bot.retry import ServiceUnavailable
from bot.schedule import digest_due
from bot.summarize import Summarizer, SummaryError
from bot.topics import Topic, TopicError, parse_topic
from storage.database import Store
from storage.repository import Repository

log = logging.getLogger(__name__)

FIRST_POLL_WINDOW = timedelta(days=2)
OVERLAP = timedelta(days=2)
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
    seconds: float = 0.0


@dataclass
class DeliveryReport:
    cards: int = 0
    digests: int = 0
    papers: int = 0
    failed: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)


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
        self.summarizer = summarizer
        self.figures = figures
        self.clock = clock
        self._summary_locks: dict[tuple[str, int, str], asyncio.Lock] = {}
        self._delivery_locks: dict[int, asyncio.Lock] = {}

    # chats and subscriptions

    async def chat(self, ref: ChatRef) -> Chat:
        defaults = {**default_chat_settings(self.settings.language), "kind": ref.kind}
        defaults["title"] = ref.title
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
        changes = parse_setting(name, value)
        row = await self.store.call(lambda r: r.update_chat(chat.id, changes))
        return Chat.from_row(row)

    async def set_active(self, chat: Chat, active: bool, reason: str = "") -> None:
        changes = {"active": int(active), "paused_reason": None if active else reason}
        await self.store.call(lambda r: r.update_chat(chat.id, changes))

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
        """The cached summary of this paper version, or one made now (once, even when
        many chats ask at the same moment)."""
        key = (paper.id, paper.version, language)
        lock = self._summary_locks.setdefault(key, asyncio.Lock())
        model = self.summarizer.model
        async with lock:
            row = await self.store.call(
                lambda r: r.summary(paper.id, paper.version, language, model)
            )
            if row is not None:
                return Summary.model_validate(json.loads(row["data"]))
            try:
                fulltext = await self.figures.fulltext(paper)
                summary = await self.summarizer.summarize(paper, language, fulltext)
            except SummaryError:
                log.exception("summary of %s failed", paper.versioned_id)
                raise
            data = summary.model_dump()
            await self.store.call(
                lambda r: r.save_summary(
                    paper.id, paper.version, language, model, summary.source, data
                )
            )
        self._summary_locks.pop(key, None)
        return summary

    async def stats(self) -> dict[str, object]:
        """Figures for `paperbot stats`: what is stored, what is due, the last poll."""
        counts = await self.store.call(Repository.counts)
        deliveries = await self.store.call(Repository.delivery_counts)
        last = await self.store.call(Repository.last_poll)
        figures: dict[str, object] = dict(counts)
        for status in ("pending", "sent"):
            figures[f"deliveries_{status}"] = deliveries.get(status, 0)
        if last is None:
            figures["last_poll"] = "never"
        else:
            errors = json.loads(last["errors"] or "[]")
            figures["last_poll"] = last["finished_at"]
            figures["last_poll_result"] = (
                f"{last['papers_seen']} papers seen, {last['papers_new']} new, "
                f"{last['deliveries_queued']} deliveries queued, {len(errors)} errors"
            )
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

        found = await self.source.poll(topics, cutoffs, known)
        items = [
            (chat, paper_id, topics[topic])
            for topic, paper_ids in found.hits.items()
            for paper_id in paper_ids
            for chat in by_topic[topics[topic]]
        ]
        rows = [p.to_row() for p in found.papers.values()]
        next_cutoffs = _next_cutoffs(found.papers, found.hits, topics, cutoffs)
        outcome, report.deliveries_queued = await self.store.call(
            lambda r: r.save_poll(rows, items, next_cutoffs)
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
            "poll: topics=%d rss=%d api=%d seen=%d new=%d updated=%d queued=%d errors=%d %.2fs",
            report.topics,
            report.rss_requests,
            report.api_requests,
            report.papers_seen,
            report.papers_new,
            report.papers_updated,
            report.deliveries_queued,
            len(report.errors),
            report.seconds,
        )
        return report

    # delivery

    async def deliver_due(self, platforms: Mapping[str, Platform]) -> DeliveryReport:
        """Send what is due to every active chat of the given platforms.

        Chats are served concurrently (at most `DELIVERY_CONCURRENCY` at once), each
        in order: a platform's per-chat rate limit then costs one chat's time, not
        the sum over all chats."""
        report = DeliveryReport()
        chat_ids = await self.store.call(Repository.chats_with_pending)
        slots = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def deliver(chat_id: int) -> None:
            async with slots:
                await self._deliver_due_chat(chat_id, platforms, report)

        tasks = [asyncio.create_task(deliver(chat_id)) for chat_id in chat_ids]
        try:
            await asyncio.gather(*tasks)
        finally:  # a crash (cancellation, interrupt) in one chat stops all of them
            for task in tasks:
                task.cancel()
        return report

    async def _deliver_due_chat(
        self, chat_id: int, platforms: Mapping[str, Platform], report: DeliveryReport
    ) -> None:
        row = await self.store.call(lambda r: r.chat_by_id(chat_id))
        if row is None:
            return
        chat = Chat.from_row(row)
        platform = platforms.get(chat.platform)
        if platform is None:
            return
        if chat.mode == "daily" and not digest_due(chat, self.clock()):
            return
        try:
            await self.deliver_chat(chat, platform, report)
        except Exception as exc:  # one chat's unexpected failure must not stop the others
            log.exception("delivery to %s:%s crashed", chat.platform, chat.chat_id)
            report.failed.append(f"{chat.platform}:{chat.chat_id}: {exc}")

    async def deliver_chat(
        self, chat: Chat, platform: Platform, report: DeliveryReport | None = None
    ) -> DeliveryReport:
        """Send everything pending for one chat now: cards one by one in instant mode
        when they are few, otherwise one digest. One delivery per chat at a time, so a
        `/digest` during the scheduled delivery sends nothing twice."""
        lock = self._delivery_locks.setdefault(chat.id, asyncio.Lock())
        async with lock:
            return await self._deliver_chat(chat, platform, report or DeliveryReport())

    async def _deliver_chat(
        self, chat: Chat, platform: Platform, report: DeliveryReport
    ) -> DeliveryReport:
        pending = await self.store.call(lambda r: r.pending(chat.id))
        if not pending:
            return report
        rows = await self.store.call(lambda r: r.papers([d["paper_id"] for d in pending]))
        papers = [Paper.from_row(row) for row in rows]
        ids = {d["paper_id"]: d["id"] for d in pending}
        try:
            if chat.mode == "instant" and len(papers) <= chat.max_papers:
                for paper in papers:
                    card = await self.card(paper, chat.language, chat.figures)
                    await platform.send_card(chat, card)
                    await self.store.call(lambda r, p=paper: r.mark_sent([ids[p.id]]))
                    report.cards += 1
                    report.papers += 1
            else:
                digest = await self.digest(chat, papers, sorted({d["topic"] for d in pending}))
                await platform.send_digest(chat, digest)
                await self.store.call(lambda r: r.mark_sent(list(ids.values())))
                report.digests += 1
                report.papers += len(papers)
            if chat.mode == "daily":
                sent_at = self.clock().isoformat()
                await self.store.call(lambda r: r.update_chat(chat.id, {"last_digest_at": sent_at}))
        except ChatUnavailable as exc:
            await self.set_active(chat, False, str(exc))
            report.paused.append(f"{chat.platform}:{chat.chat_id}")
            log.warning("chat %s:%s paused: %s", chat.platform, chat.chat_id, exc)
        except (DeliveryFailed, ServiceUnavailable, SummaryError) as exc:
            error = str(exc)
            unsent = [d["id"] for d in await self.store.call(lambda r: r.pending(chat.id))]
            await self.store.call(lambda r: r.mark_attempt_failed(unsent, error))
            report.failed.append(f"{chat.platform}:{chat.chat_id}: {exc}")
            log.warning("delivery to %s:%s failed: %s", chat.platform, chat.chat_id, exc)
        return report

    async def topic_digest(
        self, topics: list[Topic], since: datetime, limit: int, language: str
    ) -> Digest:
        """The newest papers (at most `limit`) of the topics submitted since `since`,
        searched afresh on arXiv (for `paperbot digest` and blog posts)."""
        found = await self.source.search(topics, since, limit)
        ids = list(dict.fromkeys(i for t in topics for i in found.hits.get(t, [])))
        papers = sorted((found.papers[i] for i in ids), key=lambda p: p.published, reverse=True)
        chosen = papers[:limit]
        await self.store.call(lambda r: r.upsert_papers(p.to_row() for p in chosen))
        cards = [await self.card(p, language) for p in chosen]
        names = [t.canonical for t in topics]
        return Digest(cards=cards, topics=names, day=self.clock().date(), language=language)

    async def digest(self, chat: Chat, papers: list[Paper], topics: list[str]) -> Digest:
        cards = [await self.card(p, chat.language, chat.figures) for p in papers]
        return Digest(cards=cards, topics=topics, day=self.clock().date(), language=chat.language)


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
    }
