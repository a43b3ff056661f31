"""The outbox: deliver what is due to each chat, record it, and decide who is to blame
when a send fails.

The deliveries table is the outbox (storage/outbox.py): a paper is queued
for a chat by a poll and marked sent once its platform confirmed the message.
A pass serves chats concurrently, each in order; a failed send is charged by
the contract of bot/delivery.py: a chat that is gone is paused; a message the
platform refused is retried and given up by `DELIVERY_RETRY`; a platform in
trouble counts against its circuit and its chats wait while it is down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from bot.chats import Chats
from bot.clock import Clock
from bot.delivery import ChatUnavailable, DeliveryFailed, MessageRejected, Platform, Sent
from bot.models import Card, Chat, Digest, Listed, Paper
from bot.papers import Papers
from bot.ranking import Relevance, Scored, why_line
from bot.retry import CircuitBreaker, RetryPolicy, ServiceUnavailable
from bot.schedule import is_due
from storage.chats import ChatRows
from storage.database import Store
from storage.outbox import DeliveryRows
from storage.papers import PaperRows
from storage.rows import Row, iso

log = logging.getLogger(__name__)

# A failed delivery is retried after about 1, 2, 4, ... minutes (at most 6 hours apart,
# or when the platform's Retry-After says); after 10 failed attempts made while its
# platform worked for other chats (4 to 8 hours), it is given up (`failed`).
DELIVERY_RETRY = RetryPolicy(attempts=10, base_delay=60.0, max_delay=6 * 3600.0)
# A platform counts as down after 5 failed sends in a row; probed after 1 minute,
# then 2, 4, ... at most 30 minutes apart.
PLATFORM_FAILURES, PLATFORM_COOLDOWN, PLATFORM_MAX_COOLDOWN = 5, 60.0, 1800.0
# Chats served at once by one delivery pass: a platform's per-chat rate limit (Telegram:
# about one message a second) then costs one chat's time, not the sum over all chats.
DELIVERY_CONCURRENCY = 64

Message = Callable[[], Awaitable[Card | Digest]]
T = TypeVar("T", Card, Listed)


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


class Outbox:
    def __init__(
        self, store: Store, papers: Papers, chats: Chats, relevance: Relevance, clock: Clock
    ) -> None:
        self.store = store
        self.papers = papers
        self.chats = chats
        self.relevance = relevance
        self.clock = clock
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._circuits: dict[str, CircuitBreaker] = {}
        self._stopping = False

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
                lambda: self.clock().timestamp(),
            )
        return self._circuits[platform]

    async def deliver_due(self, platforms: Mapping[str, Platform]) -> DeliveryReport:
        """Send what is due now to every active chat of the given platforms: instant
        chats' papers, daily digests whose time has come, retries whose wait is over.
        Chats are served concurrently (at most `DELIVERY_CONCURRENCY` at once), each in
        order; a chat whose platform is down waits without holding up the others."""
        report = DeliveryReport()
        now = self.clock()
        candidates = await self.store.call(DeliveryRows.delivery_candidates, iso(now))
        slots = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def deliver(chat: Chat, platform: Platform) -> None:
            async with slots:
                if self._stopping:
                    return
                if not self.circuit(chat.platform).allows():
                    report.waiting += 1
                    return
                try:
                    await self.deliver_chat(chat, platform, report, scheduled=True, scored=scored)
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
        scored = await self._score_due([chat for chat, _ in due], now)
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
        scored: Scored | None = None,
    ) -> DeliveryReport:
        """Send what waits for one chat: cards one by one in instant mode when they are
        few, otherwise one digest. `scheduled`: only what is due now, and only when the
        chat's schedule says so; otherwise (`/digest`) everything not yet sent, now.
        One chat is served by one caller at a time, and what is due is read afresh
        under that lock, so concurrent passes never send a paper twice. `scored`: the
        pass's scores of many chats' papers (those it lacks are scored here)."""
        report = report or DeliveryReport()
        async with self._chat_locks.setdefault(chat.id, asyncio.Lock()):
            now = self.clock()
            fresh = await self.store.call(ChatRows.chat_by_id, chat.id)
            if scheduled:
                waiting = await self.store.call(DeliveryRows.due, chat.id, iso(now))
            else:
                waiting = await self.store.call(DeliveryRows.unsent, chat.id)
            if fresh is None or not waiting:
                return report
            chat = Chat.from_row(fresh)
            oldest = datetime.fromisoformat(waiting[0]["created_at"])
            if scheduled and not (chat.active and is_due(chat, now, oldest)):
                return report
            await self._send(chat, platform, waiting, report, scored)
        return report

    async def _score_due(self, chats: list[Chat], now: datetime) -> Scored | None:
        """The papers due to these chats, scored in one ranking."""
        if not chats:
            return None
        rows = await self.store.call(DeliveryRows.due_to_chats, [c.id for c in chats], iso(now))
        ids = list(dict.fromkeys(d["paper_id"] for d in rows))
        papers = {r["id"]: Paper.from_row(r) for r in await self.store.call(PaperRows.papers, ids)}
        waiting: dict[int, list[Paper]] = {}
        for delivery in rows:
            if delivery["paper_id"] in papers:
                waiting.setdefault(delivery["chat"], []).append(papers[delivery["paper_id"]])
        return await self.relevance.score_chats([(c, waiting.get(c.id, [])) for c in chats])

    async def _send(
        self,
        chat: Chat,
        platform: Platform,
        waiting: list[Row],
        report: DeliveryReport,
        scored: Scored | None,
    ) -> None:
        """Score what waits, then send what passes the chat's mutes and threshold, best
        first (what does not is recorded skipped)."""
        rows = await self.store.call(PaperRows.papers, [d["paper_id"] for d in waiting])
        by_id = {d["paper_id"]: d for d in waiting}
        judged = await self.relevance.judge(
            chat,
            [Paper.from_row(row) for row in rows],
            {p: d["id"] for p, d in by_id.items()},
            scored,
        )
        papers = judged.send
        why = {p.id: why_line(judged.scores[p.id], chat.language) for p in papers}
        if chat.mode == "instant" and len(papers) <= chat.max_papers:
            for paper in papers:
                card = self._card_of(paper, chat, why[paper.id], judged.scores[paper.id].value)
                if self._stopping or not await self._attempt(
                    chat, platform, [by_id[paper.id]], report, card
                ):
                    return
            return
        if not papers:
            return
        sending = [by_id[p.id] for p in papers]
        topics = sorted({d["topic"] for d in sending})

        def explained(item: T) -> T:
            return replace(item, why=why[item.paper.id], score=judged.scores[item.paper.id].value)

        async def digest() -> Digest:
            made = await self.papers.chat_digest(chat, papers, topics)
            cards, listed = list(map(explained, made.cards)), list(map(explained, made.listed))
            return replace(made, cards=cards, listed=listed)

        if await self._attempt(chat, platform, sending, report, digest) and chat.mode == "daily":
            changes = {"last_digest_at": iso(self.clock())}
            await self.store.call(ChatRows.update_chat, chat.id, changes)

    def _card_of(self, paper: Paper, chat: Chat, why: str, score: float) -> Message:
        async def card() -> Card:
            made = await self.papers.card(paper, chat.language, chat.figures)
            return replace(made, why=why, score=score)

        return card

    async def _attempt(
        self,
        chat: Chat,
        platform: Platform,
        rows: list[Row],
        report: DeliveryReport,
        message: Message,
    ) -> bool:
        """Make and send one message for `rows`, record them sent (a digest's papers as
        each of its messages is confirmed), and return whether this chat's next message
        may go now. A failure is charged by its kind (bot/delivery.py)."""
        circuit = self.circuit(platform.name)
        where = f"{chat.platform}:{chat.chat_id}"
        unsent = {d["paper_id"]: d for d in rows}

        async def sent(paper_ids: list[str]) -> None:
            """Record papers as sent as soon as the platform confirmed their message."""
            ids = [unsent.pop(p)["id"] for p in paper_ids if p in unsent]
            if ids:
                await self.store.call(DeliveryRows.mark_sent, ids, iso(self.clock()))
                report.papers += len(ids)

        async def charge(exc: Exception) -> None:
            report.failed.append(f"{where}: {exc}")
            if unsent:  # awaited first: `+= await` would lose the counts of concurrent chats
                given_up = await self._attempt_failed(where, list(unsent.values()), exc)
                report.given_up += given_up

        try:
            made = await message()
            await _send_message(platform, chat, made, sent)
        except ChatUnavailable as exc:  # the chat is gone: pause it, keep its papers
            circuit.succeeded()
            await self.chats.set_active(chat, False, str(exc))
            report.paused.append(where)
            log.warning("chat %s paused: %s", where, exc)
            return False
        except MessageRejected as exc:  # the platform works; this message is the problem
            circuit.succeeded()
            await charge(exc)
            return True
        except DeliveryFailed as exc:  # the platform is in trouble
            circuit.failed()
            if not circuit.closed:
                report.failed.append(f"{where}: {exc}")
                log.warning("%s waits while %s is down: %s", where, platform.name, exc)
                return False
            await charge(exc)
            return False
        except ServiceUnavailable as exc:  # arXiv or the model failed making the message
            await charge(exc)
            return True
        except Exception as exc:  # a bug: charged to the message so it cannot block the chat
            log.exception("delivery to %s crashed", where)
            await charge(exc)
            return True
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
            DeliveryRows.mark_attempt_failed,
            ids,
            error,
            retry_at,
            policy.attempts,
            iso(self.clock()),
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


async def _send_message(platform: Platform, chat: Chat, made: Card | Digest, sent: Sent) -> None:
    if isinstance(made, Card):
        await platform.send_card(chat, made)
    else:
        await platform.send_digest(chat, made, sent)
