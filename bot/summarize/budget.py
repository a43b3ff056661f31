"""The language model's request budget: at most `rpm` requests in any rolling minute and
`rpd` per provider day (`PAPERBOT_LLM_RPM`, `PAPERBOT_LLM_RPD`).

The provider's day starts at its reset time (`QuotaReset`; Gemini resets its daily
quotas at midnight Pacific time). Every request takes one unit through `acquire`: first
drafts, re-asks and retries alike. A request that finds the minute full waits, in order
of priority (lower first: a person waiting before background summaries); one that finds
the day spent, or the model paused by a daily-quota answer, is told `NoBudget` at once, so
the caller serves the extractive summary now and upgrades it after the reset.

The requests are written to the database as they are sent, so a restart keeps the day's
count (and `paperbot stats` reads it). A request holds its place in the minute from
the moment it is granted until a minute after its answer: the provider counts it when it
arrives, somewhere in between. Time comes from the injected clock and waits go
through the injected sleep: the arithmetic is tested without sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock, utc_now
from bot.retry import Sleep
from bot.summarize.base import BACKGROUND, PERSON, ModelUnavailable
from storage.budget import BudgetRows
from storage.database import Store
from storage.rows import iso

log = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)
PERSON_RESERVE = 1  # requests of each minute kept for a person waiting (when RPM > 1)


class NoBudget(ModelUnavailable):
    """The day's budget is spent (or the provider said so): no request was sent.
    `retry_after` is the time left until the quota resets."""


class QuotaExhausted(ModelUnavailable):
    """The provider answered that the daily quota is spent (not worth retrying today)."""


@dataclass(frozen=True)
class QuotaReset:
    """The time of day, in a time zone, at which the provider's daily quota resets."""

    at: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str) -> QuotaReset:
        """`HH:MM Area/City` (`00:00 America/Los_Angeles`); `HH:MM` alone is UTC.
        Raises `ValueError` naming what is wrong."""
        clock, _, zone = text.strip().partition(" ")
        try:
            at = time.fromisoformat(clock)
        except ValueError:
            raise ValueError(f"{clock!r} is not a time of day (HH:MM)") from None
        try:
            return cls(at, ZoneInfo(zone.strip() or "UTC"))
        except (ValueError, LookupError):
            raise ValueError(f"{zone.strip()!r} is not a time zone (Area/City)") from None

    def day_start(self, now: datetime) -> datetime:
        """When the provider day holding `now` began (the last reset at or before `now`), in
        UTC."""
        local = now.astimezone(self.zone)
        start = datetime.combine(local.date(), self.at, tzinfo=self.zone)
        if start > local:
            start = datetime.combine(local.date() - timedelta(days=1), self.at, tzinfo=self.zone)
        return start.astimezone(UTC)

    def next_reset(self, now: datetime) -> datetime:
        """The first reset after `now` (in UTC)."""
        day = self.day_start(now).astimezone(self.zone).date() + timedelta(days=1)
        return datetime.combine(day, self.at, tzinfo=self.zone).astimezone(UTC)


GEMINI_RESET = QuotaReset(time(0, 0), ZoneInfo("America/Los_Angeles"))


@dataclass(frozen=True)
class BudgetLimits:
    """Requests per minute and per provider day (None: unlimited), and the day's reset."""

    rpm: int | None = None
    rpd: int | None = None
    reset: QuotaReset = GEMINI_RESET


@dataclass(frozen=True)
class Usage:
    """The budget as it stands at one moment, for `paperbot stats`."""

    minute: int
    today: int
    limits: BudgetLimits
    paused_until: datetime | None

    @staticmethod
    def left(limit: int | None, used: int) -> int | None:
        return None if limit is None else max(limit - used, 0)

    @property
    def left_this_minute(self) -> int | None:
        return self.left(self.limits.rpm, self.minute)

    @property
    def left_today(self) -> int | None:
        return self.left(self.limits.rpd, self.today)


async def _stored(
    store: Store, limits: BudgetLimits, now: datetime
) -> tuple[list[datetime], datetime | None]:
    """The requests sent this provider day, and a pause by a daily-quota answer still
    running at `now`."""
    times = await store.call(BudgetRows.requests_since, iso(limits.reset.day_start(now)))
    paused = await store.call(BudgetRows.paused_until)
    until = datetime.fromisoformat(paused) if paused else None
    return [datetime.fromisoformat(t) for t in times], until if until and until > now else None


async def usage(store: Store, limits: BudgetLimits, now: datetime) -> Usage:
    """The stored budget at `now`: requests sent in the last minute and this provider
    day, and a running pause."""
    times, paused = await _stored(store, limits, now)
    minute = sum(t > now - MINUTE for t in times)
    return Usage(minute, len(times), limits, paused)


class RequestBudget:
    """Grants model requests within `limits` (see the module docstring)."""

    def __init__(
        self,
        limits: BudgetLimits | None = None,
        clock: Clock = utc_now,
        store: Store | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limits = limits or BudgetLimits()
        self.clock = clock
        self.store = store
        self.sleep = sleep
        self._minute: deque[datetime] = deque()  # when recent requests were answered
        self._in_flight = 0
        self._day_start: datetime | None = None
        self._today = 0
        self._paused_until: datetime | None = None
        self._loaded = store is None
        self._loading = asyncio.Lock()
        self._queue: list[tuple[float, int]] = []
        self._tickets = itertools.count()
        self._turn = asyncio.Event()

    @asynccontextmanager
    async def request(self, priority: float = BACKGROUND) -> AsyncIterator[None]:
        """Send one request inside: granted by `acquire`, its answer noted on leaving."""
        await self.acquire(priority)
        try:
            yield
        finally:
            self._in_flight -= 1
            self._minute.append(self.clock())
            self._turn.set()

    async def acquire(self, priority: float = BACKGROUND) -> None:
        """Take one request from the budget, waiting for room in the minute behind every
        request of a lower (more urgent) priority. Raises `NoBudget` when the day is spent
        or the model paused; nothing is taken then. (`request` also notes the answer.)"""
        await self._load()
        ticket = (priority, next(self._tickets))
        heapq.heappush(self._queue, ticket)
        try:
            while True:
                now = self.clock()
                if self._queue[0] == ticket:
                    self._check_day(now)
                    wait = self.minute_wait(now, priority)
                    if wait == 0:
                        await self._take(now)
                        return
                if self._queue[0] != ticket or wait is None:
                    self._turn.clear()
                    await self._turn.wait()  # another's turn, or every slot awaits an answer
                else:
                    await self.sleep(wait)
        finally:
            self._queue.remove(ticket)
            heapq.heapify(self._queue)
            self._turn.set()

    @property
    def waiting(self) -> int:
        """How many requests wait for their turn."""
        return len(self._queue)

    def exhausted_until(self, now: datetime) -> datetime | None:
        """When the budget has room again if the day is spent or the model paused now,
        else None."""
        self._roll_day(now)
        if self._paused_until is not None and now < self._paused_until:
            return self._paused_until
        rpd = self.limits.rpd
        if rpd is not None and self._today >= rpd:
            return self.limits.reset.next_reset(now)
        return None

    def minute_wait(self, now: datetime, priority: float = BACKGROUND) -> float | None:
        """Seconds until the rolling minute has room for one more request of `priority`
        (0: now; None: when a request still waiting for its answer is done). Requests
        nobody waits for leave `PERSON_RESERVE` of the minute free, so a person asking
        (`/summarize`, a Details press) in the middle of a busy poll is served within
        seconds."""
        while self._minute and self._minute[0] <= now - MINUTE:
            self._minute.popleft()
        rpm = self.limits.rpm
        if rpm is None:
            return 0.0
        if priority > PERSON and rpm > PERSON_RESERVE:
            rpm -= PERSON_RESERVE
        used = len(self._minute) + self._in_flight
        if used < rpm:
            return 0.0
        if used - rpm >= len(self._minute):
            return None
        return (self._minute[used - rpm] + MINUTE - now).total_seconds()

    async def quota_spent(self, reason: str) -> NoBudget:
        """The provider said the daily quota is spent: pause the model until the reset
        (stored, so a restart keeps the pause). Returns the `NoBudget` to raise."""
        now = self.clock()
        self._paused_until = self.limits.reset.next_reset(now)
        log.warning("%s: daily quota spent; model paused until %s", reason, self._paused_until)
        if self.store is not None:
            await self.store.call(BudgetRows.pause, iso(self._paused_until), reason, iso(now))
        return self._no_budget(now, self._paused_until)

    def _check_day(self, now: datetime) -> None:
        until = self.exhausted_until(now)
        if until is not None:
            raise self._no_budget(now, until)

    @staticmethod
    def _no_budget(now: datetime, until: datetime) -> NoBudget:
        seconds = (until - now).total_seconds()
        return NoBudget(f"no model budget until {iso(until)}", seconds)

    def _roll_day(self, now: datetime) -> None:
        start = self.limits.reset.day_start(now)
        if start != self._day_start:
            self._day_start, self._today = start, 0

    async def _take(self, now: datetime) -> None:
        self._in_flight += 1
        self._today += 1
        if self.store is not None:
            await self.store.call(BudgetRows.record_request, iso(now))

    async def _load(self) -> None:
        """The stored requests of this provider day and a running pause, once."""
        async with self._loading:
            if self._loaded or self.store is None:
                return
            now = self.clock()
            times, self._paused_until = await _stored(self.store, self.limits, now)
            self._roll_day(now)
            self._today += len(times)
            self._minute.extend(t for t in times if t > now - MINUTE)
            self._loaded = True
