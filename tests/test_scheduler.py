"""The runner's jobs on a controllable clock: what each chat receives, and when.

Time is simulated (tests/sim.py): polls fire when the runner's own poll trigger
says, ticks every tick interval, and nothing sleeps.
"""

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest

from bot.app import App, build_app
from bot.chats import ChatRef
from bot.command_table import Command
from bot.commands import CommandLayer
from bot.models import Card, Chat
from bot.runner import Runner
from bot.schedule import next_announcement
from storage.database import Store
from storage.outbox import DeliveryRows
from tests.fake_arxiv import FakeArxiv, make_paper
from tests.sim import FakeClock, SimPlatform, Simulation, utc
from tests.sim import clock as clock  # fixtures
from tests.sim import platform as platform
from tests.test_schedule import DST_CASES
from tests.test_service import follow


def runner_for(
    app: App, platform: SimPlatform, interval: float = 3600, tick: float = 600
) -> Runner:
    return Runner(app, {"test": platform}, interval, tick=tick)


async def daily_chat(app: App, chat_id: str, zone: str, at: str) -> Chat:
    chat = await follow(app, chat_id, "cs.CV")
    for name, value in (("mode", "daily"), ("timezone", zone), ("time", at)):
        chat = await app.chats.change_setting(chat, name, value)
    return chat


def fresh_paper_each_poll(fake: FakeArxiv) -> Callable[[datetime], None]:
    """Before every poll, the feed announces one paper never seen before."""
    numbers = iter(range(1, 10_000))

    def announce(now: datetime) -> None:
        fake.feeds["cs.CV"] = [make_paper(next(numbers))]

    return announce


@pytest.mark.parametrize(("zone", "slots"), DST_CASES[:3])
async def test_daily_digest_at_local_time_across_a_dst_change(
    app: App,
    fake_arxiv: FakeArxiv,
    clock: FakeClock,
    platform: SimPlatform,
    zone: str,
    slots: list[str],
) -> None:
    clock.now = utc(slots[0]) - timedelta(hours=20)
    await daily_chat(app, "d", zone, "02:30")
    runner = runner_for(app, platform, interval=4 * 3600)
    sim = Simulation(runner, clock, before_poll=fresh_paper_each_poll(fake_arxiv))
    await sim.run_until(utc(slots[-1]) + timedelta(hours=20))

    sent = platform.to("d")
    assert [kind for _, kind, _ in sent] == ["digest"] * 3
    for (when, _, papers), slot in zip(sent, slots, strict=True):
        assert utc(slot) <= when < utc(slot) + timedelta(minutes=10)
        assert papers
    assert max(platform.received().values()) == 1


async def test_instant_chat_gets_cards_in_the_poll_that_finds_them(
    app: App, fake_arxiv: FakeArxiv, clock: FakeClock, platform: SimPlatform
) -> None:
    await follow(app, "i", "cs.CV")
    fake_arxiv.feeds["cs.CV"] = [make_paper(1), make_paper(2)]
    clock.now = utc("2026-11-19T01:10")
    await runner_for(app, platform).poll()
    assert platform.sent == [
        (clock.now, "i", "card", ["2511.00001"]),
        (clock.now, "i", "card", ["2511.00002"]),
    ]


async def test_set_time_takes_effect_at_the_next_tick(
    app: App, fake_arxiv: FakeArxiv, clock: FakeClock, platform: SimPlatform
) -> None:
    await daily_chat(app, "t", "UTC", "08:00")
    sim = Simulation(
        runner_for(app, platform, tick=60), clock, before_poll=fresh_paper_each_poll(fake_arxiv)
    )
    await sim.run_until(utc("2026-11-16T06:00"))
    layer = CommandLayer(app)
    command = Command(ChatRef("test", "t"), "7", "set", "time 07:00")
    (reply,) = await layer.handle(command, platform)
    assert "time 07:00" in reply.text
    await sim.run_until(utc("2026-11-17T12:00"))
    assert [when for when, _, _ in platform.to("t")] == [
        utc("2026-11-16T07:00"),
        utc("2026-11-17T07:00"),
    ]


async def test_catch_up_after_three_days_down_is_one_digest_per_chat(
    app: App,
    store: Store,
    fake_arxiv: FakeArxiv,
    clock: FakeClock,
    platform: SimPlatform,
) -> None:
    chats = {
        "utc": ("UTC", "08:00"),
        "berlin": ("Europe/Berlin", "09:00"),
        "sh": ("Asia/Shanghai", "07:30"),
    }
    for name, (zone, at) in chats.items():
        await daily_chat(app, name, zone, at)
    fake_arxiv.feeds["cs.CV"] = [make_paper(1), make_paper(2)]
    clock.now = utc("2026-11-17T01:10")
    await app.polling.poll()  # queued, then the bot goes down before any digest time

    fake_arxiv.feeds["cs.CV"] = [make_paper(3)]  # announced while the bot was down
    clock.now = utc("2026-11-20T12:00")
    restarted = build_app(
        app.settings, store, app.papers.source, app.summaries.summarizer, app.papers.figures, clock
    )
    sim = Simulation(runner_for(restarted, platform), clock)
    await sim.run_until(utc("2026-11-20T23:00"))

    for name in chats:
        (digest,) = platform.to(name)
        assert digest == (
            utc("2026-11-20T12:00"),
            "digest",
            ["2511.00001", "2511.00002", "2511.00003"],
        )


async def test_announcements_missed_while_down_are_harvested(
    app: App, fake_arxiv: FakeArxiv, clock: FakeClock, platform: SimPlatform
) -> None:
    await follow(app, "i", "cs.CV")
    papers = [
        make_paper(n, age=timedelta(days=5 - n), announced=date(2026, 11, 16 + n))
        for n in range(1, 5)
    ]
    fake_arxiv.papers = papers  # OAI-PMH has them all; each feed lists one announcement
    fake_arxiv.feeds["cs.CV"] = papers[:1]
    clock.now = utc("2026-11-17T01:10")  # after Monday's announcement
    runner = runner_for(app, platform)
    await runner.poll()
    assert fake_arxiv.api_requests() == []

    fake_arxiv.feeds["cs.CV"] = papers[3:]
    clock.now = utc("2026-11-20T02:00")  # down through two announcements
    await runner.poll()
    assert [p for _, _, _, (p,) in platform.sent] == [p.id for p in papers]
    assert [(r["set"], r["from"]) for r in fake_arxiv.oai_requests()] == [("cs", "2026-11-16")]

    clock.now += timedelta(hours=1)
    await runner.poll()
    assert len(fake_arxiv.oai_requests()) == 1 and len(platform.sent) == 4
    assert fake_arxiv.api_requests() == []


@pytest.mark.parametrize("weekend_feed", ["unchanged", "empty"])
async def test_no_digest_after_days_without_announcement(
    app: App,
    fake_arxiv: FakeArxiv,
    clock: FakeClock,
    platform: SimPlatform,
    weekend_feed: str,
) -> None:
    clock.now = utc("2026-11-18T12:00")  # Wednesday
    await daily_chat(app, "w", "UTC", "08:00")
    announced: dict[datetime, list[int]] = {}
    moment = clock.now
    for number in range(1, 4):  # Wednesday, Thursday and Sunday evening in New York
        moment = next_announcement(moment)
        announced[moment] = [number * 10 + i for i in range(3)]

    def feed(now: datetime) -> None:
        latest = max((m for m in announced if m <= now), default=None)
        stale = latest is None or (weekend_feed == "empty" and now - latest > timedelta(hours=24))
        numbers = [] if stale else announced[latest]
        fake_arxiv.feeds["cs.CV"] = [make_paper(n) for n in numbers]

    sim = Simulation(runner_for(app, platform), clock, before_poll=feed)
    await sim.run_until(utc("2026-11-24T12:00"))
    sent = platform.to("w")
    assert [(when.strftime("%a %H:%M"), len(papers)) for when, _, papers in sent] == [
        ("Thu 08:00", 3),
        ("Fri 08:00", 3),
        ("Mon 08:00", 3),
    ]


async def test_jobs_coalesce_and_never_overlap(app: App, platform: SimPlatform) -> None:
    scheduler = runner_for(app, platform, interval=1800, tick=60).scheduler()
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"poll", "tick"}
    for job in jobs.values():
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
    assert jobs["tick"].trigger.interval == timedelta(seconds=60)
    assert str(jobs["poll"].trigger) == "every 1800s ±90s and after each announcement"


class SlowPlatform(SimPlatform):
    """Holds the second card in flight until released."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        super().__init__(clock)
        self.in_flight = asyncio.Event()
        self.release = asyncio.Event()

    async def send_card(self, chat: Chat, card: Card) -> None:
        if len(self.sent) == 1:
            self.in_flight.set()
            await self.release.wait()
        await super().send_card(chat, card)


async def test_stop_finishes_the_message_in_flight_and_keeps_the_rest(
    app: App, store: Store, fake_arxiv: FakeArxiv, clock: FakeClock
) -> None:
    chat = await follow(app, "s", "cs.CV")
    fake_arxiv.feeds["cs.CV"] = [make_paper(i) for i in (1, 2, 3)]
    await app.polling.poll()  # in the outbox from before the start
    platform = SlowPlatform(clock)
    stopping = asyncio.Event()
    running = asyncio.create_task(Runner(app, {"test": platform}, 3600).run(stopping))
    await asyncio.wait_for(platform.in_flight.wait(), 10)
    stopping.set()
    for _ in range(20):  # let the runner see the stop before the send completes
        await asyncio.sleep(0)
    platform.release.set()
    await asyncio.wait_for(running, 10)

    assert [papers for _, _, _, papers in platform.sent] == [["2511.00001"], ["2511.00002"]]
    assert store.rows(DeliveryRows).delivery_counts() == {"sent": 2, "pending": 1}
    assert [d["paper_id"] for d in store.rows(DeliveryRows).unsent(chat.id)] == ["2511.00003"]
