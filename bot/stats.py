"""The figures `paperbot stats` prints: what is stored, what is due, the model's budget,
the last polls and the last completeness audit."""

from __future__ import annotations

import json
from datetime import datetime

from bot.audit import AUDIT_COUNTS
from bot.clock import utc_now
from bot.summarize.budget import BudgetLimits, Usage, usage
from storage.audits import AuditRows
from storage.database import Store
from storage.outbox import DeliveryRows
from storage.papers import SummaryRows
from storage.polls import PollRows
from storage.rows import Row


async def stats(
    store: Store, limits: BudgetLimits | None = None, now: datetime | None = None
) -> dict[str, object]:
    """Chats, papers, summaries and model requests, the model's budget (`limits`) at `now`,
    deliveries by status, the last poll, the last audit."""
    figures: dict[str, object] = dict(await store.call(PollRows.counts))
    figures.update(await store.call(SummaryRows.summary_stats))
    limits = limits or BudgetLimits()
    figures.update(_budget(await usage(store, limits, now or utc_now())))
    deliveries = await store.call(DeliveryRows.delivery_counts)
    for status in ("pending", "sent", "failed", "skipped"):
        figures[f"deliveries_{status}"] = deliveries.get(status, 0)
    figures["deliveries_retrying"] = await store.call(DeliveryRows.retrying)
    figures.update(
        _polls(
            await store.call(PollRows.last_poll),
            await store.call(PollRows.last_successful_poll),
        )
    )
    figures.update(_audit(await store.call(AuditRows.audits)))
    return figures


def _audit(rows: list[Row]) -> dict[str, object]:
    """The last audited day, and its counts summed over the listings."""
    if not rows:
        return {"last_audit": "never"}
    totals = ", ".join(f"{sum(r[k] for r in rows)} {k}" for k in AUDIT_COUNTS)
    return {"last_audit": rows[0]["day"], "last_audit_result": f"{len(rows)} listings: {totals}"}


def _budget(used: Usage) -> dict[str, object]:
    """Requests used and left this minute and this provider day; a running pause."""

    def left(count: int | None) -> object:
        return "unlimited" if count is None else count

    figures: dict[str, object] = {
        "model_requests_this_minute": used.minute,
        "model_requests_left_this_minute": left(used.left_this_minute),
        "model_requests_today": used.today,
        "model_requests_left_today": left(used.left_today),
    }
    if used.paused_until is not None:
        figures["model_paused_until"] = used.paused_until.isoformat()
    return figures


def _polls(last: Row | None, last_ok: Row | None) -> dict[str, object]:
    if last is None:
        return {"last_poll": "never"}
    errors = json.loads(last["errors"] or "[]")
    result = (
        f"{last['papers_seen']} papers seen, {last['papers_new']} new, "
        f"{last['deliveries_queued']} deliveries queued, {len(errors)} errors"
    )
    if not last["ok"]:
        result += ": " + "; ".join(errors)
    return {
        "last_poll": last["finished_at"],
        "last_poll_result": result,
        "last_successful_poll": last_ok["finished_at"] if last_ok else "never",
    }
