"""The model's budget spent where readers look: which summaries to make first.

After each poll the planner lists the summaries that chats will see on cards:
for every active chat, the papers waiting for it that it would get as cards
(not muted, not below its threshold, its first `max` by score), in the chat's
language. It asks the model for them in this order: due soonest first (instant
chats now, daily chats at their next digest), then the best score among the
chats that will show the paper as a card (among equal scores, the paper more
chats will see). Papers that are only listed in a digest, or below every chat's
threshold, are not planned: they get no model call until someone opens one
(then as a person waiting, `PERSON`).

Only papers still waiting for some chat are planned, so an extractive summary
made for lack of budget (or while the model failed) is upgraded once the budget
has room, best-ranked first, and only while a chat will still see it: a card
already sent is not sent again. Planned requests come after those of
deliveries going out now (`BACKGROUND`) and stop when the day's budget is spent.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.models import Chat, Paper
from bot.ranking import Relevance, Scored, sendable
from bot.schedule import next_delivery
from bot.summaries import SummaryCache
from bot.summarize import PLANNED
from storage.database import Store
from storage.outbox import DeliveryRows
from storage.papers import PaperRows
from storage.rows import Row

log = logging.getLogger(__name__)

WORKERS = 4  # planned requests in flight at once (the budget paces them)


@dataclass(frozen=True, order=True)
class Planned:
    """One summary to make: ordered by when it is due, then by its best score, then by
    how many chats will see it."""

    due: datetime
    urgency: float  # minus the best score among the chats that show it as a card
    audience: int  # minus how many chats show it as a card (among equal scores, more first)
    paper_id: str
    language: str
    paper: Paper = field(compare=False)


class SummaryPlanner:
    def __init__(
        self, store: Store, relevance: Relevance, summaries: SummaryCache, clock: Clock
    ) -> None:
        self.store = store
        self.relevance = relevance
        self.summaries = summaries
        self.clock = clock

    async def plan(self) -> list[Planned]:
        """The summaries chats will see on cards that the model would be asked for now,
        in the order to ask for them."""
        rows = await self.store.call(DeliveryRows.pending_to_active_chats)
        if not rows:
            return []
        chats, waiting, oldest = _by_chat(rows)
        ids = list(dict.fromkeys(row["paper_id"] for row in rows))
        papers = {r["id"]: Paper.from_row(r) for r in await self.store.call(PaperRows.papers, ids)}
        pending = {
            chat: [papers[i] for i in paper_ids if i in papers]
            for chat, paper_ids in waiting.items()
        }
        scored = await self.relevance.score_chats([(chats[c], some) for c, some in pending.items()])
        now = self.clock()
        soonest: dict[tuple[str, str], tuple[datetime, float, Paper]] = {}
        audience: Counter[tuple[str, str]] = Counter()
        for chat_id, some in pending.items():
            chat = chats[chat_id]
            due = next_delivery(chat, now, oldest[chat_id])
            for value, paper in _cards(chat, some, scored):
                key = (paper.id, chat.language)
                audience[key] += 1
                card = (due, -value, paper)
                soonest[key] = min(soonest.get(key, card), card, key=lambda c: c[:2])
        order = sorted(
            Planned(due, urgency, -audience[key], *key, paper)
            for key, (due, urgency, paper) in soonest.items()
        )
        unmade = await self.summaries.to_make([(p.paper, p.language) for p in order])
        left = {(paper.id, language) for paper, language in unmade}
        return [p for p in order if (p.paper_id, p.language) in left]

    async def run(self, within: timedelta | None = None) -> int:
        """Make the planned summaries in order while the model's budget lasts (and, when
        given, start none after `within`, when the next plan is due); returns how many the
        model wrote."""
        if self.summaries.out_of_budget():
            return 0
        until = self.clock() + within if within is not None else None
        plan = await self.plan()
        queue = iter(plan)
        workers = [self._work(queue, until) for _ in range(min(WORKERS, len(plan)))]
        made = sum(await asyncio.gather(*workers))
        if plan:
            log.info("planned summaries: %d of %d by the model", made, len(plan))
        return made

    async def _work(self, queue: Iterator[Planned], until: datetime | None) -> int:
        """Take the next planned summaries from the shared `queue` and make them; returns
        how many the model wrote."""
        made = 0
        for planned in queue:
            if self.summaries.out_of_budget() or (until is not None and self.clock() >= until):
                break
            summary = await self.summaries.summary(planned.paper, planned.language, PLANNED)
            made += summary.source != "extractive"
        return made


def _by_chat(
    rows: list[Row],
) -> tuple[dict[int, Chat], dict[int, list[str]], dict[int, datetime]]:
    """The chats of the pending deliveries, their papers' ids and when the oldest was
    queued (the rows come each chat's oldest first)."""
    chats: dict[int, Chat] = {}
    waiting: dict[int, list[str]] = {}
    oldest: dict[int, datetime] = {}
    for row in rows:
        if row["id"] not in chats:
            chats[row["id"]] = Chat.from_row(row)
            oldest[row["id"]] = datetime.fromisoformat(row["queued_at"])
        waiting.setdefault(row["id"], []).append(row["paper_id"])
    return chats, waiting, oldest


def _cards(chat: Chat, papers: list[Paper], scored: Scored) -> list[tuple[float, Paper]]:
    """(score, paper) of the papers the chat would get as cards, best first."""
    ranked = []
    for paper in papers:
        value, muted = scored.value(chat, paper)
        if sendable(chat, value, muted):
            ranked.append((value, paper))
    ranked.sort(key=lambda pair: -pair[0])
    return ranked[: chat.max_papers]
