"""Nothing missed: papers announced late (held by moderation, weekends, holidays),
downtime, a first poll mid-week, and the daily completeness audit, against the fake
arXiv's listings and API on a controlled clock."""

import logging
from datetime import date, datetime, timedelta

import pytest

from bot.app import App
from bot.audit import AUDIT_COUNTS
from bot.config import Settings
from storage.audits import AuditRows
from storage.database import Store
from tests.conftest import RunCli
from tests.fake_arxiv import (
    FakeArxiv,
    FakePaper,
    Scripted,
    announcement_of,
    make_paper,
    submission_window,
)
from tests.sim import FakeClock, SimPlatform
from tests.sim import clock as clock  # fixtures
from tests.sim import platform as platform
from tests.test_service import follow

MONDAY = date(2026, 11, 16)


def submitted(day: date, days_held: float = 0) -> datetime:
    """In the submission window of the listing dated `day`, held `days_held` longer."""
    start, _ = submission_window(day)
    return start + timedelta(hours=1) - timedelta(days=days_held)


def paper(number: int, day: date, days_held: float = 0, **fields: object) -> FakePaper:
    made = make_paper(number, **fields)  # type: ignore[arg-type]
    made.published = submitted(day, days_held)
    return made


def announce(fake: FakeArxiv, day: date, papers: list[FakePaper]) -> None:
    """The listing dated `day` comes out: the feeds show it, the API and OAI-PMH have its
    papers."""
    fake.listing_day = day
    fake.announced = papers
    for made in papers:
        made.announced = day
    fake.papers.extend(p for p in papers if p.announce_type == "new")


async def poll_and_deliver(app: App, clock: FakeClock, platform: SimPlatform, at: datetime) -> None:
    clock.now = at
    await app.polling.poll()
    await app.outbox.deliver_due({"test": platform})


async def followed_since_monday(
    app: App,
    fake: FakeArxiv,
    clock: FakeClock,
    platform: SimPlatform,
    **follows: str,
) -> None:
    """Chats (name=topic) polled once after Monday's listing announced paper 1."""
    for chat, topic in follows.items():
        await follow(app, chat, topic)
    announce(fake, MONDAY, [paper(1, MONDAY)])
    await poll_and_deliver(app, clock, platform, announcement_of(MONDAY) + timedelta(hours=1))


def received(platform: SimPlatform, chat: str) -> list[str]:
    return sorted(paper for (to, paper) in platform.received() if to == chat)


async def test_held_papers_reach_keyword_author_and_category_chats(
    app: App, fake_arxiv: FakeArxiv, clock: FakeClock, platform: SimPlatform
) -> None:
    tuesday = MONDAY + timedelta(days=1)
    splatting = "gaussian splatting"
    await followed_since_monday(
        app, fake_arxiv, clock, platform,
        cv="cs.CV", kw=splatting, au="au:Mildenhall", q=f'q:abs:"{splatting}"',
    )  # fmt: skip
    splats = "We render cities with gaussian splatting."
    held = [
        paper(2, tuesday, 15, abstract=splats, categories=["cs.GR"]),
        paper(3, tuesday, 12, authors=["Ben Mildenhall"], categories=["cs.CV"]),
        paper(4, tuesday, 9, categories=["cs.RO", "cs.CV"], abstract=splats),
    ]
    old = paper(5, tuesday, 300, abstract=splats, version=2, announce_type="replace")
    fake_arxiv.papers.append(old)  # the API has it too, with its first version's date
    announce(fake_arxiv, tuesday, [*held, old])
    await poll_and_deliver(app, clock, platform, announcement_of(tuesday) + timedelta(hours=1))
    assert received(platform, "cv") == ["2511.00001", "2511.00003", "2511.00004"]
    assert received(platform, "kw") == ["2511.00002", "2511.00004"]
    assert received(platform, "au") == ["2511.00003"]
    assert received(platform, "q") == ["2511.00002", "2511.00004"]
    assert max(platform.received().values()) == 1


async def test_weekend_and_holiday_lags_in_a_bot_that_reads_no_listing(
    app: App, fake_arxiv: FakeArxiv, clock: FakeClock, platform: SimPlatform
) -> None:
    """Keyword and author topics alone are searched through the API: a paper submitted
    before the cutoff is still new to them when it is first seen now."""
    await follow(app, "kw", "diffusion")
    await follow(app, "au", "au:Turing")
    wednesday = MONDAY + timedelta(days=2)
    friday = MONDAY + timedelta(days=4)  # Thursday is a holiday: no listing
    next_monday = MONDAY + timedelta(days=7)
    announce(fake_arxiv, wednesday, [paper(1, wednesday, title="Diffusion one")])
    await poll_and_deliver(app, clock, platform, announcement_of(wednesday))
    announce(fake_arxiv, friday, [paper(2, friday, 1, title="Diffusion after a holiday")])
    await poll_and_deliver(app, clock, platform, announcement_of(friday) + timedelta(hours=1))
    weekend = paper(3, next_monday, title="Diffusion over the weekend")
    announce(fake_arxiv, next_monday, [weekend, paper(4, next_monday, 2, title="Held Diffusion")])
    await poll_and_deliver(app, clock, platform, announcement_of(next_monday))
    assert received(platform, "kw") == ["2511.00001", "2511.00002", "2511.00003", "2511.00004"]
    assert received(platform, "au") == received(platform, "kw")


async def test_a_day_of_downtime_is_caught_up_for_every_topic_kind(
    app: App, fake_arxiv: FakeArxiv, clock: FakeClock, platform: SimPlatform
) -> None:
    """What Tuesday's listing announced while the bot was down, held papers included,
    arrives with Wednesday's: from the archive's OAI-PMH records."""
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    splatting = "gaussian splatting"
    await followed_since_monday(
        app, fake_arxiv, clock, platform,
        cv="cs.CV", kw=splatting, **{"in": f"{splatting} in:cs.CV"},
    )  # fmt: skip
    splats = "Fast gaussian splatting."
    missed = [
        paper(2, tuesday, abstract=splats),
        paper(3, tuesday, 14, abstract=splats),  # held two weeks, listed on Tuesday
        paper(4, tuesday, categories=["cs.GR"], abstract=splats),
    ]
    announce(fake_arxiv, tuesday, missed)
    announce(fake_arxiv, wednesday, [paper(5, wednesday, abstract=splats)])
    await poll_and_deliver(app, clock, platform, announcement_of(wednesday) + timedelta(hours=1))
    assert received(platform, "cv") == ["2511.00001", "2511.00002", "2511.00003", "2511.00005"]
    assert received(platform, "kw") == ["2511.00002", "2511.00003", "2511.00004", "2511.00005"]
    assert received(platform, "in") == ["2511.00002", "2511.00003", "2511.00005"]
    (harvest,) = fake_arxiv.oai_requests()  # cs.CV and cs: one archive
    assert (harvest["set"], harvest["from"]) == ("cs", str(MONDAY - timedelta(days=1)))


async def test_first_poll_mid_week_delivers_the_latest_announcement(
    app: App, fake_arxiv: FakeArxiv, clock: FakeClock, platform: SimPlatform
) -> None:
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    await follow(app, "cv", "cs.CV")
    await follow(app, "kw", "gaussian splatting")
    await follow(app, "q", 'q:abs:"gaussian splatting"')
    splats = "Gaussian splatting on phones."
    announce(fake_arxiv, tuesday, [paper(1, tuesday, abstract=splats)])
    latest = [paper(2, wednesday, abstract=splats), paper(3, wednesday, 10, abstract=splats)]
    announce(fake_arxiv, wednesday, latest)
    await poll_and_deliver(app, clock, platform, announcement_of(wednesday) + timedelta(hours=9))
    for chat in ("cv", "kw", "q"):
        assert received(platform, chat) == ["2511.00002", "2511.00003"], chat


async def test_audit_finds_what_no_poll_read_and_delivers_it_late(
    app: App,
    fake_arxiv: FakeArxiv,
    store: Store,
    clock: FakeClock,
    platform: SimPlatform,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tuesday = MONDAY + timedelta(days=1)
    await followed_since_monday(app, fake_arxiv, clock, platform, cv="cs.CV")
    announce(fake_arxiv, tuesday, [paper(2, tuesday), paper(3, tuesday, 12)])
    fake_arxiv.rss_script.extend([Scripted(503)] * 3)  # the poll cannot read the listing
    with caplog.at_level(logging.WARNING):
        await poll_and_deliver(app, clock, platform, announcement_of(tuesday) + timedelta(hours=7))
    assert received(platform, "cv") == ["2511.00001", "2511.00002", "2511.00003"]
    (row,) = store.rows(AuditRows).audits()
    assert (row["category"], row["day"]) == ("cs.CV", tuesday.isoformat())
    counts = [row[k] for k in ("announced", "stored", "matched", "delivered", "missing")]
    assert counts == [2, 0, 2, 0, 2]
    late = [r.getMessage() for r in caplog.records if r.getMessage().startswith("late:")]
    assert late == [
        f"late: 2511.0000{n} queued for chat 1 (cs.CV): announced in cs.CV on {tuesday}; "
        "no poll read that listing (arXiv unreachable or paperbot down)"
        for n in (2, 3)
    ]
    clock.now += timedelta(hours=1)
    await app.polling.poll()
    assert len(store.rows(AuditRows).audits()) == 1  # once a day


async def test_audit_and_stats_commands_show_the_audit(
    app: App,
    fake_arxiv: FakeArxiv,
    clock: FakeClock,
    platform: SimPlatform,
    settings: Settings,
    run_cli: RunCli,
) -> None:
    await follow(app, "cv", "cs.CV")
    await follow(app, "kw", "gaussian splatting")
    splats = paper(2, MONDAY, 10, abstract="Gaussian splatting.", categories=["cs.GR"])
    announce(fake_arxiv, MONDAY, [paper(1, MONDAY), splats])
    await poll_and_deliver(app, clock, platform, announcement_of(MONDAY) + timedelta(hours=1))
    await poll_and_deliver(app, clock, platform, announcement_of(MONDAY) + timedelta(hours=7))
    database = {"PAPERBOT_DB": str(settings.db_path)}

    shown = run_cli("audit", extra_env=database)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"completeness audit of {MONDAY}")
    assert lines[1].split() == ["listing", *AUDIT_COUNTS]
    assert [line.split() for line in lines[2:]] == [
        ["cs", "2", "2", "1", "1", "0", "0"],
        ["cs.CV", "1", "1", "1", "1", "0", "0"],
    ]
    other = run_cli("audit", "--date", "2026-11-17", extra_env=database)
    assert other.stdout.strip() == "no completeness audit recorded for 2026-11-17"
    bad = run_cli("audit", "--date", "yesterday", extra_env=database)
    assert bad.returncode == 2 and "not a date" in bad.stderr
    stats = run_cli("stats", extra_env=database).stdout.splitlines()
    figures = dict(line.split(None, 1) for line in stats)
    assert figures["last_audit"] == MONDAY.isoformat()
    assert figures["last_audit_result"] == (
        "2 listings: 3 announced, 3 stored, 2 matched, 2 delivered, 0 pending, 0 missing"
    )


async def test_a_listing_is_read_once_per_announcement_unless_someone_new_follows_it(
    app: App, fake_arxiv: FakeArxiv, clock: FakeClock, platform: SimPlatform
) -> None:
    await followed_since_monday(app, fake_arxiv, clock, platform, cv="cs.CV")
    await poll_and_deliver(app, clock, platform, announcement_of(MONDAY) + timedelta(hours=3))
    assert fake_arxiv.rss_requests() == ["/rss/cs.CV"]  # Monday's listing was read already
    await follow(app, "new", "cs.CV")
    await poll_and_deliver(app, clock, platform, clock.now + timedelta(minutes=5))
    assert received(platform, "new") == ["2511.00001"]
    assert len(fake_arxiv.rss_requests()) == 2
    tuesday = MONDAY + timedelta(days=1)
    announce(fake_arxiv, tuesday, [paper(2, tuesday)])
    await poll_and_deliver(app, clock, platform, announcement_of(tuesday) + timedelta(hours=1))
    assert len(fake_arxiv.rss_requests()) == 3
    assert received(platform, "cv") == received(platform, "new") == ["2511.00001", "2511.00002"]
