"""Schedule math, in one place: arXiv's announcements and each chat's daily digest.

All comparisons are made between instants in UTC. A chat's digest time is a
wall-clock time in its IANA time zone; on a daylight-saving change a time that
does not exist that day (02:30 when clocks jump from 02:00 to 03:00) falls at
the same instant as the previous day's offset gives (03:30 local), and a time
that occurs twice (01:30 when clocks fall back) means its first occurrence. So
every local day has exactly one digest slot, and slots strictly increase.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.models import Chat

# arXiv announces new submissions at 20:00 US Eastern, Sunday to Thursday.
ANNOUNCEMENT_ZONE = ZoneInfo("America/New_York")
ANNOUNCEMENT_TIME = time(20, 0)
ANNOUNCEMENT_WEEKDAYS = frozenset({6, 0, 1, 2, 3})  # Sun, Mon, Tue, Wed, Thu
# submissions received by then (New York time) are in that evening's announcement
SUBMISSION_DEADLINE = time(14, 0)
# how long after an announcement a feed may still show the previous one
FEED_LAG = timedelta(hours=1)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `at` on `day` in `zone` (see the module note on DST)."""
    return datetime.combine(day, at, zone).astimezone(UTC)


def next_announcement(after: datetime) -> datetime:
    """The first arXiv announcement strictly after `after` (UTC)."""
    day = after.astimezone(ANNOUNCEMENT_ZONE).date()
    while True:
        if day.weekday() in ANNOUNCEMENT_WEEKDAYS:
            moment = local_instant(day, ANNOUNCEMENT_TIME, ANNOUNCEMENT_ZONE)
            if moment > after:
                return moment
        day += timedelta(days=1)


def latest_announcement(moment: datetime) -> datetime:
    """The last arXiv announcement at or before `moment` (UTC)."""
    day = moment.astimezone(ANNOUNCEMENT_ZONE).date()
    while True:
        if day.weekday() in ANNOUNCEMENT_WEEKDAYS:
            instant = local_instant(day, ANNOUNCEMENT_TIME, ANNOUNCEMENT_ZONE)
            if instant <= moment:
                return instant
        day -= timedelta(days=1)


def listing_day(announcement: datetime) -> date:
    """The day an announcement's listing is dated (the next day in New York: Sunday
    evening's announcement is Monday's listing)."""
    return announcement.astimezone(ANNOUNCEMENT_ZONE).date() + timedelta(days=1)


def submissions_since(listing: date) -> datetime:
    """When the submissions listed on `listing` began (unless held longer): the deadline
    two weekdays before it (Monday's listing: Thursday 14:00 New York time)."""
    day = listing
    for _ in range(2):
        day -= timedelta(days=1)
        while day.weekday() >= 5:  # deadlines are on weekdays
            day -= timedelta(days=1)
    return local_instant(day, SUBMISSION_DEADLINE, ANNOUNCEMENT_ZONE)


def missed_announcement(last_read: datetime, now: datetime) -> bool:
    """Whether a feed last read at `last_read` has since shown an announcement that
    nobody read before the next one replaced it."""
    first_unseen = next_announcement(last_read - FEED_LAG)
    return next_announcement(first_unseen) <= now


def _digest_time(chat: Chat) -> time:
    hour, minute = (int(part) for part in chat.digest_time.split(":"))
    return time(hour, minute)


def latest_slot(chat: Chat, now: datetime) -> datetime:
    """The most recent moment (UTC) at or before `now` when the chat's digest was scheduled."""
    zone = ZoneInfo(chat.timezone)
    today = now.astimezone(zone).date()
    slot = local_instant(today, _digest_time(chat), zone)
    if slot > now:
        slot = local_instant(today - timedelta(days=1), _digest_time(chat), zone)
    return slot


def is_due(chat: Chat, now: datetime, oldest_pending: datetime) -> bool:
    """Whether the papers waiting for a chat go out now (`oldest_pending`: when the
    oldest of them was queued).

    An instant chat's go out at once. A daily chat's digest goes out once per
    slot, at the first check after the slot, when papers were waiting at the
    slot. `last_digest_at` is the last digest, or when the schedule last changed;
    a new chat counts from its creation. So a slot with nothing waiting sends
    nothing (no empty digest on days without announcements), papers found after a
    slot wait for the next one, and after any downtime the missed slots make one
    digest.
    """
    if chat.mode != "daily":
        return True
    slot = latest_slot(chat, now)
    return (chat.last_digest_at or chat.created_at) < slot and oldest_pending <= slot


def report_due(chat: Chat, now: datetime) -> date | None:
    """The UTC day whose run report goes to the chat now, or None.

    Like a daily digest, the report goes out once per slot of the chat's digest time,
    at the first check after the slot, whatever the chat's mode; it covers the last
    whole UTC day before the slot. `report_sent_at` is the last report, or when it was
    turned on: after any downtime the missed slots make one report, and a restart
    sends nothing twice.
    """
    if chat.report_admin is None:
        return None
    slot = latest_slot(chat, now)
    if (chat.report_sent_at or chat.created_at) >= slot:
        return None
    return slot.astimezone(UTC).date() - timedelta(days=1)


def next_delivery(chat: Chat, now: datetime, oldest_pending: datetime) -> datetime:
    """When the papers waiting for a chat go out: now if they are due (`is_due`), else at
    the chat's next digest slot."""
    if is_due(chat, now, oldest_pending):
        return now
    slot = latest_slot(chat, now)
    zone = ZoneInfo(chat.timezone)
    return local_instant(slot.astimezone(zone).date() + timedelta(days=1), _digest_time(chat), zone)
