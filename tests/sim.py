"""A controllable clock and a simulated passage of time for the runner's jobs.

`Simulation` runs what the scheduler would run, in order of time, without
sleeping: a poll whenever the runner's own poll trigger fires, and a tick every
tick interval. Before each poll, `before_poll(now)` may change what the fake arXiv
serves. Also used by benchmarks/soak.py. Test modules import the `clock` and
`platform` fixtures from here.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery import DeliveryFailed, Sent
from bot.models import Card, Chat, Digest
from bot.runner import Runner


def utc(text: str) -> datetime:
    """`2026-11-16T08:00` as a UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class FakeClock:
    """The app's clock: returns `now`, which the test moves."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class Ticker:
    """A monotonic clock in seconds (circuit breakers, the arXiv client): `now`,
    moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Simulation:
    def __init__(
        self,
        runner: Runner,
        clock: FakeClock,
        *,
        before_poll: Callable[[datetime], None] | None = None,
    ) -> None:
        self.runner = runner
        self.clock = clock
        self.tick = timedelta(seconds=runner.tick_seconds)
        self.before_poll = before_poll or (lambda now: None)
        self.trigger = runner.scheduler().get_job("poll").trigger
        self.next_poll = self.trigger.get_next_fire_time(None, clock.now)
        self.next_tick = clock.now
        self.polls = 0

    async def run_until(self, end: datetime) -> None:
        """Run every poll and tick due up to `end`; the clock is left at `end`."""
        while min(self.next_poll, self.next_tick) <= end:
            if self.next_poll <= self.next_tick:
                self.clock.now = self.next_poll
                self.before_poll(self.clock.now)
                await self.runner.poll()
                self.polls += 1
                self.next_poll = self.trigger.get_next_fire_time(self.next_poll, self.clock.now)
            else:
                self.clock.now = self.next_tick
                await self.runner.tick()
                self.next_tick += self.tick
        self.clock.now = end


class SimPlatform:
    """A platform that records what it delivered and when, and fails as scripted:
    `failures` is consumed one per send (None: that send succeeds)."""

    def __init__(self, clock: Callable[[], datetime], name: str = "test") -> None:
        self.name = name
        self.clock = clock
        self.sent: list[tuple[datetime, str, str, list[str]]] = []
        self.texts: list[tuple[datetime, str, str]] = []  # plain texts: (when, chat, text)
        self.failures: list[DeliveryFailed | None] = []
        self.always_fail: DeliveryFailed | None = None

    async def send_card(self, chat: Chat, card: Card) -> None:
        self._send(chat, "card", [card.paper.id])

    async def send_digest(self, chat: Chat, digest: Digest, sent: Sent) -> None:
        self._send(chat, "digest", [item.paper.id for item in (*digest.cards, *digest.listed)])

    async def send_text(self, chat: Chat, text: str) -> None:
        self._fail()
        self.texts.append((self.clock(), chat.chat_id, text))

    def _send(self, chat: Chat, kind: str, papers: list[str]) -> None:
        self._fail()
        self.sent.append((self.clock(), chat.chat_id, kind, papers))

    def _fail(self) -> None:
        failure = self.failures.pop(0) if self.failures else self.always_fail
        if failure is not None:
            raise failure

    def received(self) -> Counter[tuple[str, str]]:
        """How many times each (chat, paper) arrived."""
        return Counter((chat, paper) for _, chat, _, papers in self.sent for paper in papers)

    def to(self, chat_id: str) -> list[tuple[datetime, str, list[str]]]:
        """What the chat got: (when, `card` or `digest`, paper ids)."""
        return [(when, kind, papers) for when, chat, kind, papers in self.sent if chat == chat_id]


@pytest.fixture
def clock() -> FakeClock:
    """The services' clock, moved by the test; it starts on Monday 16 November 2026."""
    return FakeClock(datetime(2026, 11, 16, tzinfo=UTC))


@pytest.fixture
def platform(clock: FakeClock) -> SimPlatform:
    return SimPlatform(clock)


class SimSleep:
    """Stands in for asyncio.sleep on simulated time: records each wait and moves `clock`
    by it, once `gate` is open (a test closes it to hold every sleeper in place)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self._called = asyncio.Condition()

    async def __call__(self, seconds: float) -> None:
        async with self._called:
            self.waits.append(seconds)
            self._called.notify_all()
        await self.gate.wait()
        self.clock.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)

    async def until_asked(self, count: int) -> None:
        """Return once `count` waits have been asked for."""
        async with self._called:
            await self._called.wait_for(lambda: len(self.waits) >= count)
