"""The run report: what paperbot did on one UTC day (or today so far), for its operator.

One model (`RunReport`), built from what the store recorded (`run_report`) and rendered
as plain text in a chat's language (`render`) for `paperbot report`, `/report` and the
daily report: per poll, papers fetched (seen, new) and matched (deliveries queued);
for the day, summaries by the model and extractive (for lack of budget among them),
per platform the papers sent, skipped (below the threshold or muted), given up and
the chats paused, arXiv errors, papers whose PDF hides text, and the model's budget.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.messages import say
from bot.summarize.budget import MINUTE, BudgetLimits
from storage.budget import BudgetRows
from storage.database import Store
from storage.reports import ReportRows
from storage.rows import iso

DAY = timedelta(days=1)
# errors listed one per line; more are counted
ERRORS_SHOWN = 10


@dataclass(frozen=True)
class PollLine:
    started: datetime
    seen: int
    new: int
    queued: int
    errors: tuple[str, ...]


@dataclass(frozen=True)
class PlatformLine:
    platform: str
    sent: int  # papers sent, as cards or in digests
    skipped: int  # below the chat's threshold or muted
    failed: int  # given up after every retry
    paused: int  # chats paused by the end of the day, still paused


@dataclass(frozen=True)
class BudgetLine:
    requests: int
    busiest_minute: int  # the most requests in any 60 seconds
    limits: BudgetLimits
    paused_until: datetime | None  # a daily-quota answer paused the model (that day) until


@dataclass(frozen=True)
class RunReport:
    day: date
    until: datetime | None  # today so far: until then; None: the whole day
    polls: tuple[PollLine, ...]
    by_model: int
    extractive: int
    extractive_for_budget: int
    platforms: tuple[PlatformLine, ...]
    hiding_text: int
    budget: BudgetLine

    @property
    def arxiv_errors(self) -> list[str]:
        return [error for poll in self.polls for error in poll.errors]


def day_bounds(day: date, now: datetime) -> tuple[datetime, datetime]:
    """The UTC day's start and end, the end no later than `now`."""
    start = datetime.combine(day, time(0), UTC)
    return start, max(start, min(start + DAY, now))


def busiest_minute(times: Sequence[datetime]) -> int:
    """The most of `times` (sorted) within any 60 seconds."""
    most, first = 0, 0
    for last, moment in enumerate(times):
        while times[first] <= moment - MINUTE:
            first += 1
        most = max(most, last - first + 1)
    return most


async def run_report(store: Store, limits: BudgetLimits, day: date, now: datetime) -> RunReport:
    """The report of the UTC `day` as stored at `now` (today: so far)."""
    start, end = day_bounds(day, now)
    bounds = iso(start), iso(end)
    polls = await store.call(ReportRows.polls_between, *bounds)
    settled = await store.call(ReportRows.deliveries_settled, *bounds)
    paused = await store.call(ReportRows.paused_chats, bounds[1])
    summaries = await store.call(ReportRows.summaries_made, *bounds)
    requests = await store.call(BudgetRows.requests_since, *bounds)
    paused_until = await store.call(BudgetRows.paused_during, *bounds)
    platforms = tuple(
        PlatformLine(
            name,
            settled.get(name, {}).get("sent", 0),
            settled.get(name, {}).get("skipped", 0),
            settled.get(name, {}).get("failed", 0),
            paused.get(name, 0),
        )
        for name in sorted(settled.keys() | paused.keys())
    )
    return RunReport(
        day=day,
        until=end if end < start + DAY else None,
        polls=tuple(
            PollLine(
                datetime.fromisoformat(row["started_at"]),
                row["papers_seen"],
                row["papers_new"],
                row["deliveries_queued"],
                tuple(json.loads(row["errors"] or "[]")),
            )
            for row in polls
        ),
        by_model=summaries["by_model"],
        extractive=summaries["extractive"],
        extractive_for_budget=summaries["for_budget"],
        platforms=platforms,
        hiding_text=await store.call(ReportRows.hidden_text_found, *bounds),
        budget=BudgetLine(
            len(requests),
            busiest_minute([datetime.fromisoformat(t) for t in requests]),
            limits,
            datetime.fromisoformat(paused_until) if paused_until else None,
        ),
    )


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M")


def _limit(language: str, limit: int | None) -> str:
    return say(language, "report_unlimited") if limit is None else str(limit)


def render(report: RunReport, language: str) -> str:
    """The report as plain text in `language`."""
    lang = language
    day = report.day.isoformat()
    lines = [
        say(lang, "report_title", day=day)
        if report.until is None
        else say(lang, "report_title_so_far", day=day, time=_clock(report.until))
    ]
    polls = report.polls
    lines.append(
        say(
            lang,
            "report_polls",
            count=len(polls),
            seen=sum(p.seen for p in polls),
            new=sum(p.new for p in polls),
            queued=sum(p.queued for p in polls),
        )
    )
    lines += [
        say(
            lang,
            "report_poll",
            time=_clock(p.started),
            seen=p.seen,
            new=p.new,
            queued=p.queued,
            errors=len(p.errors),
        )
        for p in polls
    ]
    lines.append(
        say(
            lang,
            "report_summaries",
            model=report.by_model,
            extractive=report.extractive,
            budget=report.extractive_for_budget,
        )
    )
    lines += [say(lang, "report_platform", **asdict(p)) for p in report.platforms] or [
        say(lang, "report_no_deliveries")
    ]
    errors = report.arxiv_errors
    lines.append(say(lang, "report_errors", count=len(errors)))
    lines += [f"  {error}" for error in errors[:ERRORS_SHOWN]]
    if len(errors) > ERRORS_SHOWN:
        lines.append("  " + say(lang, "report_more", count=len(errors) - ERRORS_SHOWN))
    lines.append(say(lang, "report_hidden_text", count=report.hiding_text))
    budget = report.budget
    lines.append(
        say(
            lang,
            "report_budget",
            requests=budget.requests,
            rpd=_limit(lang, budget.limits.rpd),
            minute=budget.busiest_minute,
            rpm=_limit(lang, budget.limits.rpm),
        )
    )
    if budget.paused_until is not None:
        until = budget.paused_until.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        lines.append(say(lang, "report_model_paused", until=until))
    return "\n".join(lines)
