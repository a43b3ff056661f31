"""Schedule math and the failure policy's circuit breaker, as pure functions."""

import random
from datetime import date, timedelta

import pytest

from bot.models import Chat
from bot.retry import CircuitBreaker, ServiceUnavailable
from bot.runner import ANNOUNCEMENT_SETTLE, PollTrigger
from bot.schedule import (
    is_due,
    latest_announcement,
    latest_slot,
    listing_day,
    missed_announcement,
    next_announcement,
)
from tests.sim import Ticker, utc


def chat(zone: str = "UTC", at: str = "08:00", **changes: object) -> Chat:
    fields = {
        "id": 1,
        "platform": "test",
        "chat_id": "1",
        "kind": "private",
        "title": "",
        "language": "en",
        "timezone": zone,
        "mode": "daily",
        "digest_time": at,
        "figures": True,
        "max_papers": 10,
        "active": True,
        "created_at": utc("2026-01-01T00:00"),
        **changes,
    }
    return Chat(**fields)  # type: ignore[arg-type]


# (zone, the digest at 02:30 local on three days around a DST change, in UTC)
DST_CASES = [
    # clocks jump 02:00 → 03:00 on 8 March: 02:30 does not exist, the slot is 03:30 EDT
    ("America/New_York", ["2026-03-07T07:30", "2026-03-08T07:30", "2026-03-09T06:30"]),
    # clocks fall back 03:00 → 02:00 on 25 October: 02:30 happens twice, the first counts
    ("Europe/Berlin", ["2026-10-24T00:30", "2026-10-25T00:30", "2026-10-26T01:30"]),
    # Sydney falls back on 5 April and jumps forward on 4 October
    ("Australia/Sydney", ["2026-04-03T15:30", "2026-04-04T15:30", "2026-04-05T16:30"]),
    ("Australia/Sydney", ["2026-10-02T16:30", "2026-10-03T16:30", "2026-10-04T15:30"]),
]


@pytest.mark.parametrize(("zone", "day_slots"), DST_CASES)
def test_one_slot_per_local_day_across_dst(zone: str, day_slots: list[str]) -> None:
    subject = chat(zone, "02:30")
    slots = [utc(s) for s in day_slots]
    minute = timedelta(minutes=1)
    now = slots[0] - timedelta(hours=20)
    seen = set()
    while now < slots[-1] + timedelta(hours=20):
        seen.add(latest_slot(subject, now))
        assert latest_slot(subject, now) <= now
        now += minute * 7
    assert sorted(seen)[1:4] == slots
    for slot in slots:
        assert latest_slot(subject, slot) == slot
        assert latest_slot(subject, slot - minute) < slot


def test_due_once_per_slot_only_when_papers_waited() -> None:
    subject = chat(last_digest_at=utc("2026-11-17T08:00"))
    queued = utc("2026-11-18T01:00")
    assert not is_due(subject, utc("2026-11-18T07:59"), queued)
    assert is_due(subject, utc("2026-11-18T08:00"), queued)
    assert is_due(subject, utc("2026-11-21T12:00"), queued)  # after downtime: once
    sent = chat(last_digest_at=utc("2026-11-18T08:01"))
    assert not is_due(sent, utc("2026-11-18T23:00"), queued)
    assert not is_due(sent, utc("2026-11-18T23:00"), utc("2026-11-18T09:00"))
    assert is_due(sent, utc("2026-11-19T08:00"), utc("2026-11-18T09:00"))
    assert is_due(chat(mode="instant"), utc("2026-11-18T03:00"), queued)


@pytest.mark.parametrize(
    ("after", "announcement"),
    [
        ("2026-11-18T12:00", "2026-11-19T01:00"),  # Wednesday 20:00 EST
        ("2026-11-20T01:00", "2026-11-23T01:00"),  # Thursday's, then none until Sunday
        ("2026-11-21T12:00", "2026-11-23T01:00"),
        ("2026-03-07T12:00", "2026-03-09T00:00"),  # Sunday 20:00 EDT, the day clocks change
    ],
)
def test_next_announcement(after: str, announcement: str) -> None:
    assert next_announcement(utc(after)) == utc(announcement)


@pytest.mark.parametrize(
    ("last_read", "now", "missed"),
    [
        ("2026-11-19T02:00", "2026-11-20T02:00", False),  # Wednesday's seen, Thursday's shown
        ("2026-11-19T02:00", "2026-11-23T02:00", True),  # Thursday's never read
        ("2026-11-20T02:00", "2026-11-23T02:00", False),  # a weekend without announcements
        ("2026-11-20T01:30", "2026-11-23T02:00", True),  # read when the feed may have lagged
    ],
)
def test_missed_announcement(last_read: str, now: str, missed: bool) -> None:
    assert missed_announcement(utc(last_read), utc(now)) is missed


def test_poll_trigger_fires_at_start_every_interval_and_after_announcements() -> None:
    trigger = PollTrigger(3600, 0)
    start = utc("2026-11-19T12:00")  # Thursday
    assert trigger.get_next_fire_time(None, start) == start
    assert trigger.get_next_fire_time(start, start) == utc("2026-11-19T13:00")
    before = utc("2026-11-20T00:30")  # 19:30 in New York
    assert trigger.get_next_fire_time(before, before) == utc("2026-11-20T01:00") + (
        ANNOUNCEMENT_SETTLE
    )
    friday = utc("2026-11-21T00:30")
    assert trigger.get_next_fire_time(friday, friday) == utc("2026-11-21T01:30")


def test_poll_trigger_jitter_stays_bounded() -> None:
    trigger = PollTrigger(3600, 180, random.Random(1))
    start = utc("2026-11-21T12:00")  # Saturday: no announcement near
    gaps = [(trigger.get_next_fire_time(start, start) - start).total_seconds() for _ in range(200)]
    assert 3420 <= min(gaps) < max(gaps) <= 3780


def test_circuit_opens_after_failures_in_a_row_and_probes_later() -> None:
    clock = Ticker()
    circuit = CircuitBreaker("arXiv API", threshold=3, cooldown=60, max_cooldown=200, clock=clock)
    circuit.failed()
    circuit.failed()
    circuit.succeeded()  # a success in between resets the count
    circuit.failed()
    circuit.failed()
    assert circuit.state == "closed"
    circuit.failed()
    assert (circuit.state, circuit.allows()) == ("open", False)
    with pytest.raises(ServiceUnavailable, match="arXiv API is down; next try in 60s"):
        circuit.check("arXiv search")
    clock.now = 60
    assert (circuit.state, circuit.allows()) == ("half-open", True)
    circuit.failed()  # the probe failed: open twice as long
    clock.now = 179
    assert circuit.state == "open"
    clock.now = 180
    circuit.failed()
    clock.now = 379
    assert circuit.state == "open"  # at most max_cooldown
    clock.now = 380
    circuit.succeeded()
    assert (circuit.state, circuit.failures) == ("closed", 0)


@pytest.mark.parametrize(
    ("now", "announced", "listing"),
    [
        ("2026-11-21T12:00", "2026-11-20T01:00", "2026-11-20"),  # Saturday: Thursday's
        ("2026-11-23T00:59", "2026-11-20T01:00", "2026-11-20"),  # Sunday 19:59 New York
        ("2026-11-23T01:00", "2026-11-23T01:00", "2026-11-23"),  # Sunday's is Monday's
    ],
)
def test_latest_announcement_and_the_day_of_its_listing(
    now: str, announced: str, listing: str
) -> None:
    latest = latest_announcement(utc(now))
    assert latest == utc(announced)
    assert listing_day(latest) == date.fromisoformat(listing)
