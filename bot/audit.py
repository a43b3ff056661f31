"""The daily completeness audit: did every paper a chat follows reach it?

Once a day, `AUDIT_AFTER` an arXiv announcement (when its listings are up and
the polls have had their chance), every listing the bot reads is read once
more and compared with the database. Per listing and announcement day it
records the papers announced (new and cross-listed, not replacements),
stored, matched by a followed topic, delivered to every chat that follows
them, pending (queued, not sent yet), and missing (a chat that follows the
paper has no delivery of it). A missing paper is fetched from arXiv, stored
and queued then, with a log line saying why it is late.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.arxiv.parse import ArxivQueryError, FeedItem
from bot.arxiv.source import ArxivSource, plan
from bot.models import Paper
from bot.retry import ServiceUnavailable
from bot.schedule import latest_announcement, listing_day
from bot.topics import Topic
from storage.audits import AuditRows
from storage.database import Store
from storage.outbox import DeliveryRows
from storage.papers import PaperRows
from storage.polls import PollRows
from storage.rows import Row, iso

log = logging.getLogger(__name__)

AUDIT_AFTER = timedelta(hours=6)
AUDIT_COUNTS = ("announced", "stored", "matched", "delivered", "pending", "missing")


@dataclass(frozen=True)
class Follower:
    """A followed topic: its stored name and the active chats that follow it."""

    topic: Topic
    name: str
    chats: tuple[int, ...]


def audit_due(last_audit: str | None, now: datetime) -> bool:
    """Whether the latest announcement is old enough and not audited yet."""
    moment = latest_announcement(now) + AUDIT_AFTER
    return moment <= now and (last_audit is None or datetime.fromisoformat(last_audit) < moment)


async def audit(
    store: Store, source: ArxivSource, followers: Sequence[Follower], now: datetime
) -> list[Row]:
    """Audit every listing the followed topics are read from; queue what is missing.
    Returns the rows recorded (a listing that cannot be read is left out)."""
    by_topic = {f.topic: f for f in followers}
    expected_day = listing_day(latest_announcement(now)).isoformat()
    read_days = await store.call(PollRows.feed_days)
    rows = []
    for name, topics in plan(by_topic).listings.items():
        try:
            listing = await source.client.feed(name)
        except (ServiceUnavailable, ArxivQueryError) as exc:
            log.warning("audit of %s skipped: %s", name, exc)
            continue
        day = listing.day.isoformat() if listing.day else expected_day
        items = [item for item in listing.items if item.is_new]
        wanted = [
            (chat, item, by_topic[topic].name)
            for item in items
            for topic in topics
            if topic.matches(item.paper)
            for chat in by_topic[topic].chats
        ]
        late_reason = (
            "a poll read that listing, but did not queue it"
            if read_days.get(name) == day
            else "no poll read that listing (arXiv unreachable or paperbot down)"
        )
        row = await _check(store, source, (name, day, iso(now)), items, wanted, late_reason)
        rows.append({**row, "checked_at": iso(now)})
        await store.call(AuditRows.save_audit, rows[-1])
        log.info(
            "audit %s %s: announced=%d stored=%d matched=%d delivered=%d pending=%d missing=%d",
            name,
            day,
            *(row[k] for k in ("announced", "stored", "matched", "delivered", "pending")),
            row["missing"],
        )
    return rows


async def _check(
    store: Store,
    source: ArxivSource,
    where: tuple[str, str, str],
    items: list[FeedItem],
    wanted: list[tuple[int, FeedItem, str]],
    late_reason: str,
) -> Row:
    """The audit row of one listing (`where`: its name, day, and now)."""
    name, day, now = where
    ids = [item.paper.id for item in items]
    stored = await store.call(PaperRows.first_seen, ids)
    rows = await store.call(DeliveryRows.deliveries_of, ids)
    status = {(d["chat"], d["paper_id"]): d["status"] for d in rows}
    missing = [(c, item, t) for c, item, t in wanted if (c, item.paper.id) not in status]
    matched = {item.paper.id for _, item, _ in wanted}
    missing_ids = {item.paper.id for _, item, _ in missing}
    unsent = {item.paper.id for c, item, _ in wanted if status.get((c, item.paper.id)) != "sent"}
    if missing:
        why = f"announced in {name} on {day}; {late_reason}"
        await _deliver_late(store, source, missing, why, now)
    return {
        "category": name,
        "day": day,
        "announced": len(ids),
        "stored": len(stored),
        "matched": len(matched),
        "delivered": len(matched - unsent),
        "pending": len(unsent - missing_ids),
        "missing": len(missing_ids),
        "late": json.dumps(sorted(missing_ids)),
    }


async def _deliver_late(
    store: Store,
    source: ArxivSource,
    missing: list[tuple[int, FeedItem, str]],
    why: str,
    now: str,
) -> None:
    """Store the missing papers (arXiv's full record when it answers, else the listing's)
    and queue them for the chats that miss them."""
    papers: dict[str, Paper] = {item.paper.id: item.paper for _, item, _ in missing}
    try:
        papers.update((p.id, p) for p in await source.lookup(sorted(papers)) if p.id in papers)
    except (ServiceUnavailable, ArxivQueryError) as exc:
        log.warning("audit: arXiv lookup failed, the listing's metadata is used: %s", exc)
    rows = [p.to_row() for p in papers.values()]
    items = [(chat, item.paper.id, topic) for chat, item, topic in missing]
    await store.call(PollRows.save_poll, rows, items, {}, now)
    for chat, item, topic in missing:
        log.warning("late: %s queued for chat %d (%s): %s", item.paper.id, chat, topic, why)
