"""When a chat's daily digest is due: local time, time zone, once per day."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.models import Chat


def latest_slot(chat: Chat, now: datetime) -> datetime:
    """The most recent moment (UTC) at or before `now` when the chat's digest was scheduled."""
    zone = ZoneInfo(chat.timezone)
    hour, minute = (int(part) for part in chat.digest_time.split(":"))
    local_now = now.astimezone(zone)
    slot = datetime.combine(local_now.date(), time(hour, minute), zone)
    if slot > local_now:
        slot = datetime.combine(local_now.date() - timedelta(days=1), time(hour, minute), zone)
    return slot.astimezone(UTC)


def digest_due(chat: Chat, now: datetime) -> bool:
    """A daily chat's digest is due once per slot: when no digest went out since the last
    slot (a new chat waits for its first slot after it was created)."""
    if chat.mode != "daily":
        return False
    return (chat.last_digest_at or chat.created_at) < latest_slot(chat, now)
