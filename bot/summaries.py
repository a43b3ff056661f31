"""Summaries as the service serves them: one per (paper version, language, model, prompt
version), cached in the database and shared by every chat; concurrent requests for one key
wait for the one in flight. When the model fails, the paper gets the extractive summary at
once and the model may be asked again after a retry time, while other papers do not wait on
a failing model. When the model's request budget is spent, the paper gets the extractive
summary at once too (`grounding` `budget`) until the quota resets. Which summaries are
asked for again, and in what order, is the planner's business (bot/summary_plan.py).
Every summary is cleaned (`summarize.clean`) as it is made and as it is read back, so one
stored before a cleaning rule existed is served clean too."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from bot.models import Paper, Summary
from bot.summarize import (
    BACKGROUND,
    ModelUnavailable,
    Summarizer,
    SummaryError,
    SummaryRun,
)
from bot.summarize.budget import NoBudget
from bot.summarize.clean import clean
from bot.summarize.extractive import summarize_abstract
from bot.summarize.grounding import Evidence, check
from bot.summarize.prompt import paper_text
from storage.database import Store
from storage.papers import SummaryRows
from storage.rows import iso

log = logging.getLogger(__name__)

# A summary that fell back to extractive because the model failed is retried after
# UPGRADE_DELAY, doubling per failure, at most MAX_UPGRADE_ATTEMPTS times; meanwhile the
# model is not asked for other papers for MODEL_PAUSE (or as long as the server asked).
UPGRADE_DELAY = timedelta(minutes=30)
MAX_UPGRADE_ATTEMPTS = 5
MODEL_PAUSE = timedelta(minutes=5)


class SummaryCache:
    """`summary(paper, language)` from the cache or the summarizer; `fulltext` gives the
    PDF's text to a summarizer that reads it; `clock` is the service's clock."""

    def __init__(
        self,
        store: Store,
        summarizer: Summarizer,
        fulltext: Callable[[Paper], Awaitable[str | None]],
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.summarizer = summarizer
        self.fulltext = fulltext
        self.clock = clock
        self._locks: dict[tuple[str, int, str], asyncio.Lock] = {}
        self._model_paused_until: datetime | None = None

    async def summary(self, paper: Paper, language: str, priority: float = BACKGROUND) -> Summary:
        """The cached summary of this paper version, or one made now: once per key even
        when many chats ask at the same moment (they wait for the one in flight, then
        read the cache). An extractive fallback, stored while the model failed, is served
        until its retry time; the first request after that asks the model again.
        `priority` places the model's requests in its budget (`summarize.base.PERSON`...)."""
        key = (paper.id, paper.version, language)
        lock = self._locks.setdefault(key, asyncio.Lock())
        model = self.summarizer.model
        async with lock:
            stored = (paper.id, paper.version, language, model)
            row = await self.store.call(SummaryRows.summary, *stored)
            if row is not None and self._is_current(row):
                await self.store.call(SummaryRows.count_summary_hit, *stored)
                summary = clean(Summary.model_validate_json(row["data"]))
            else:
                summary = await self._make_summary(paper, language, row, priority)
        self._locks.pop(key, None)
        return summary

    async def stored_or_extractive(self, paper: Paper, language: str) -> Summary:
        """The summary stored for this paper version and language, else the extractive one
        made now and not stored: never a model request, never the PDF (a digest's compact
        list; the model's summary comes when someone opens the paper)."""
        stored = (paper.id, paper.version, language, self.summarizer.model)
        row = await self.store.call(SummaryRows.summary, *stored)
        if row is not None:
            return clean(Summary.model_validate_json(row["data"]))
        return clean(await asyncio.to_thread(summarize_abstract, paper))

    def _is_current(self, row: Mapping[str, Any]) -> bool:
        if row["prompt_version"] != self.summarizer.prompt_version:
            return False
        return row["retry_at"] is None or datetime.fromisoformat(row["retry_at"]) > self.clock()

    async def _make_summary(
        self, paper: Paper, language: str, previous: Mapping[str, Any] | None, priority: float
    ) -> Summary:
        """Summarize with the model, or fall back to the extractive summary when it fails
        or its budget is spent; clean and check the result and store it with how it was
        made."""
        run = SummaryRun(priority=priority)
        now = self.clock()
        attempts = previous["attempts"] if previous is not None else 0
        retry_at: datetime | None = None
        error = ""
        fulltext = None
        spent_until = self._budget_spent_until(now)
        if spent_until is not None:
            summary, run.grounding = summarize_abstract(paper), "budget"
            retry_at, error = spent_until, "no model budget left; not asked"
        elif self._model_paused(now):
            summary, run.grounding = summarize_abstract(paper), "fallback"
            retry_at, error = self._model_paused_until, "the model failed moments ago; not asked"
        else:
            try:
                if self.summarizer.reads_fulltext:
                    fulltext = await self.fulltext(paper)
                summary = await self.summarizer.summarize(paper, language, fulltext, run)
                attempts = 0
            except NoBudget as exc:
                log.info("summary of %s: extractive for now (%s)", paper.versioned_id, exc)
                summary, run.grounding, error = summarize_abstract(paper), "budget", str(exc)
                retry_at = self.clock() + timedelta(seconds=exc.retry_after or 0)
            except SummaryError as exc:
                log.warning(
                    "summary of %s by %s failed; extractive summary instead: %s",
                    paper.versioned_id,
                    self.summarizer.model,
                    exc,
                )
                summary, run.grounding, error = summarize_abstract(paper), "fallback", str(exc)
                attempts += 1
                if isinstance(exc, ModelUnavailable):
                    retry_at = self._retry_time(now, exc, attempts)
        summary = clean(summary)
        evidence = Evidence(paper, paper_text(fulltext))
        final = [f.label for f in check(summary, evidence, language)]
        if final:
            log.info("summary of %s keeps failing checks: %s", paper.versioned_id, final)
        details = {
            "prompt_version": self.summarizer.prompt_version,
            "grounding": run.grounding,
            "checks": json.dumps({"draft": run.draft_failures, "final": final}),
            "error": error[:500],
            "retry_at": retry_at.isoformat(timespec="seconds") if retry_at else None,
            "attempts": attempts,
        }
        calls = [asdict(call) for call in run.calls]
        await self.store.call(
            SummaryRows.save_summary,
            paper.id,
            paper.version,
            language,
            self.summarizer.model,
            summary.source,
            summary.model_dump(),
            iso(now),
            run=details,
            calls=calls,
        )
        return summary

    def _model_paused(self, now: datetime) -> bool:
        return self._model_paused_until is not None and now < self._model_paused_until

    def _budget_spent_until(self, now: datetime) -> datetime | None:
        budget = self.summarizer.budget
        return budget.exhausted_until(now) if budget is not None else None

    def _retry_time(self, now: datetime, exc: ModelUnavailable, attempts: int) -> datetime | None:
        """When to ask the model again for a summary that fell back (None: never), and
        pause the model for other papers meanwhile so a failing model costs one wait."""
        asked = timedelta(seconds=exc.retry_after or 0)
        self._model_paused_until = now + max(MODEL_PAUSE, asked)
        if attempts >= MAX_UPGRADE_ATTEMPTS:
            return None
        return now + max(UPGRADE_DELAY * 2 ** (attempts - 1), asked)

    async def to_make(self, wanted: Sequence[tuple[Paper, str]]) -> list[tuple[Paper, str]]:
        """Those of the (paper, language) pairs whose summary would be asked of the model
        now: none stored, or a fallback whose retry time has come (in the given order)."""
        if not wanted:
            return []
        ids = list(dict.fromkeys(paper.id for paper, _ in wanted))
        rows = await self.store.call(SummaryRows.summaries_of, ids, self.summarizer.model)
        current = {
            (r["paper_id"], r["version"], r["language"]) for r in rows if self._is_current(r)
        }
        return [(p, lang) for p, lang in wanted if (p.id, p.version, lang) not in current]

    def out_of_budget(self) -> bool:
        """Whether the model's budget is spent (or the model paused) now."""
        now = self.clock()
        return self._budget_spent_until(now) is not None or self._model_paused(now)
