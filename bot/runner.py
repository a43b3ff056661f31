"""The long-running side of `paperbot run` and `paperbot poll`: two APScheduler jobs
in the bot's own event loop, however many chats there are.

* poll: every `PAPERBOT_POLL_INTERVAL` seconds (with jitter), and shortly after
  each arXiv announcement (20:00 US Eastern, Sunday to Thursday), fetch new
  papers, then deliver what is due (instant chats get their cards at once).
* tick: every minute, deliver what the database says is due now: daily digests
  whose time has come, retries whose wait is over, daily run reports. The schedule
  lives in the database, so `/set time` takes effect at the next tick, without a restart.

The first tick runs at start: whatever was due but unsent when the bot stopped
(the outbox) goes out, and a daily chat whose digest time passed while the bot
was down gets one digest for everything it missed. Missed runs of either job
are coalesced into one, and neither job overlaps itself. Deliveries run one
pass at a time, so at most one message is in flight when the bot dies.

Stopping (SIGTERM, SIGINT): no job starts any more; a poll still fetching is
cancelled (its results are saved in one transaction or not at all); a delivery
finishes the message in flight, records it, and leaves the rest in the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.app import App
from bot.delivery import Platform
from bot.outbox import DeliveryReport, Outbox
from bot.polling import PollReport
from bot.schedule import next_announcement
from storage.outbox import DeliveryRows

log = logging.getLogger(__name__)

TICK_SECONDS = 60.0
# the RSS feeds and the API show an announcement a few minutes after 20:00
ANNOUNCEMENT_SETTLE = timedelta(minutes=10)
JITTER_SHARE, MAX_JITTER = 0.05, 300.0
# how long a stop waits for the message in flight (Docker waits 10 s by default,
# docker-compose.yml gives 30 s)
STOP_GRACE = 20.0


async def deliver(outbox: Outbox, platforms: Mapping[str, Platform]) -> DeliveryReport:
    """Deliver everything due now; one log line when anything happened."""
    report = await outbox.deliver_due(platforms)
    if report.eventful:
        log.info(
            "deliver: papers=%d cards=%d digests=%d failed=%d given_up=%d paused=%d waiting=%d",
            report.papers,
            report.cards,
            report.digests,
            len(report.failed),
            report.given_up,
            len(report.paused),
            report.waiting,
        )
    return report


async def cycle(app: App, platforms: Mapping[str, Platform]) -> tuple[PollReport, DeliveryReport]:
    """One poll, delivery of everything due (daily run reports too), then the summaries
    of cards still to be sent, as the model's budget allows (`paperbot poll --once`)."""
    report = await app.polling.poll()
    delivered = await deliver(app.outbox, platforms)
    await app.reports.send_due(platforms)
    await app.planner.run()
    return report, delivered


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (Docker stop, Ctrl-C)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    return stopping


class PollTrigger(BaseTrigger):
    """Fires at once, then every `interval` seconds (± `jitter`) after the previous
    poll, and earlier when an arXiv announcement comes first: `ANNOUNCEMENT_SETTLE`
    after it (+ up to `jitter`). So an announcement is picked up within minutes,
    and never later than one interval."""

    def __init__(self, interval: float, jitter: float, rng: random.Random | None = None) -> None:
        self.interval = interval
        self.jitter = jitter
        self.rng = rng or random.Random()

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is None:
            return now
        regular = previous_fire_time + timedelta(
            seconds=self.interval + self.rng.uniform(-self.jitter, self.jitter)
        )
        announced = (
            next_announcement(previous_fire_time)
            + ANNOUNCEMENT_SETTLE
            + timedelta(seconds=self.rng.uniform(0, self.jitter))
        )
        return min(regular, announced)

    def __str__(self) -> str:
        return f"every {self.interval:.0f}s ±{self.jitter:.0f}s and after each announcement"


class Runner:
    """Runs the poll and tick jobs until told to stop."""

    def __init__(
        self,
        app: App,
        platforms: Mapping[str, Platform],
        interval: float,
        *,
        tick: float = TICK_SECONDS,
        grace: float = STOP_GRACE,
    ) -> None:
        self.app = app
        self.platforms = platforms
        self.interval = interval
        self.tick_seconds = tick
        self.grace = grace
        self._stopping = False
        self._delivering = asyncio.Lock()
        self._jobs: set[asyncio.Task[None]] = set()
        self._fetches: set[asyncio.Future[PollReport]] = set()

    async def poll(self) -> None:
        """The poll job: fetch (cancelled at once by a stop), deliver, then make the
        summaries of cards still to be sent (bot/summary_plan.py) until the next poll."""
        fetch = asyncio.ensure_future(self.app.polling.poll())
        self._fetches.add(fetch)
        try:
            await fetch
        except asyncio.CancelledError:
            if self._stopping:
                log.info("poll interrupted by shutdown")
                return
            raise
        finally:
            self._fetches.discard(fetch)
        await self.tick()
        await self.app.planner.run(within=timedelta(seconds=self.interval))

    async def tick(self) -> None:
        """The tick job: deliver what is due now (after a delivery pass in progress), then
        the daily run reports whose time has come."""
        async with self._delivering:
            await deliver(self.app.outbox, self.platforms)
            await self.app.reports.send_due(self.platforms)

    def scheduler(self) -> AsyncIOScheduler:
        """The scheduler with both jobs, not started; both run as soon as it starts."""
        scheduler = AsyncIOScheduler(timezone="UTC")
        jitter = min(self.interval * JITTER_SHARE, MAX_JITTER)
        options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        scheduler.add_job(
            self._job(self.poll), PollTrigger(self.interval, jitter), id="poll", **options
        )
        scheduler.add_job(
            self._job(self.tick),
            IntervalTrigger(seconds=self.tick_seconds, timezone="UTC"),
            id="tick",
            next_run_time=datetime.now(UTC),
            **options,
        )
        return scheduler

    def _job(self, work: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """`work` as a job: tracked for a graceful stop, its failures logged (the job
        runs again as scheduled)."""
        name = work.__name__

        async def job() -> None:
            if self._stopping:
                return
            task = asyncio.current_task()
            assert task is not None
            self._jobs.add(task)
            try:
                await work()
            except asyncio.CancelledError:
                if not self._stopping:
                    raise
                log.warning("%s cut short by shutdown; what it did not send stays due", name)
            except Exception:
                log.exception("%s failed; it runs again as scheduled", name)
            finally:
                self._jobs.discard(task)

        job.__name__ = job.__qualname__ = name
        return job

    async def run(self, stopping: asyncio.Event) -> None:
        """Run the jobs until `stopping` is set, then stop gracefully."""
        waiting = await self.app.store.call(DeliveryRows.delivery_counts)
        log.info(
            "start: %d deliveries waiting in the outbox; polling every %.0fs",
            waiting.get("pending", 0),
            self.interval,
        )
        scheduler = self.scheduler()
        scheduler.start()
        try:
            await stopping.wait()
        finally:
            await self._stop(scheduler)

    async def _stop(self, scheduler: AsyncIOScheduler) -> None:
        self._stopping = True
        scheduler.pause()
        self.app.outbox.request_stop()
        for fetch in self._fetches:
            fetch.cancel()
        if self._jobs:
            _, late = await asyncio.wait(set(self._jobs), timeout=self.grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
        log.info("stopping")
