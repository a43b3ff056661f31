"""Papers and the cards made of them: arXiv lookups, summaries, figures, digests.

One paper becomes one `Card` (metadata from arXiv, the cached summary from
bot/summaries.py, the key figure from bot/figures/); a list of papers becomes a
`Digest`. Shared by commands (`/summarize`, a Details button), the outbox and
`paperbot digest`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.arxiv.ids import ArxivId, parse_arxiv_id
from bot.arxiv.source import ArxivSource
from bot.clock import Clock
from bot.figures import FigureSource
from bot.models import Card, Chat, Digest, Listed, Paper, Progress, unwatched
from bot.retry import ServiceUnavailable
from bot.summaries import SummaryCache
from bot.summarize import BACKGROUND, PERSON
from bot.topics import Topic
from storage.database import Store
from storage.papers import PaperRows
from storage.rows import iso

log = logging.getLogger(__name__)


class PaperNotFound(LookupError):
    """arXiv has no paper with this id (or version)."""


class Papers:
    def __init__(
        self,
        store: Store,
        source: ArxivSource,
        summaries: SummaryCache,
        figures: FigureSource,
        pdf_url: str,
        clock: Clock,
    ) -> None:
        self.store = store
        self.source = source
        self.summaries = summaries
        self.figures = figures
        self.pdf_url = pdf_url
        self.clock = clock

    async def paper(self, ident: ArxivId) -> Paper:
        """The paper from arXiv (the stored copy when arXiv is unreachable)."""
        try:
            found = await self.source.lookup([str(ident)])
        except ServiceUnavailable:
            row = await self.store.call(PaperRows.paper, ident.base)
            if row is None or (ident.version is not None and row["version"] != ident.version):
                raise
            log.warning("arXiv unreachable; using the stored copy of %s", ident)
            return Paper.from_row(row)
        matching = [p for p in found if p.id == ident.base]
        if not matching:
            raise PaperNotFound(f"no arXiv paper {ident}")
        paper = matching[0]
        await self.store.call(PaperRows.upsert_papers, [paper.to_row()], iso(self.clock()))
        return paper

    async def card(
        self, paper: Paper, language: str, figures: bool = True, priority: float = BACKGROUND
    ) -> Card:
        """The paper's card in `language`, with its figures (the key one first) unless
        `figures` is off, and whether its PDF hides text (known when the PDF was read:
        for the figures or the summary); `priority`: the summary's place in the model's
        budget (`PERSON` when someone asked for it)."""
        summary = await self.summaries.summary(paper, language, priority)
        found = await self.figures.figures(paper) if figures else []
        read = figures or summary.source == "fulltext"
        hides_text = read and await self.figures.hides_text(paper)
        if hides_text:
            found_at = iso(self.clock())
            await self.store.call(PaperRows.record_hidden_text, paper.id, paper.version, found_at)
        return Card(
            paper=paper,
            summary=summary,
            language=language,
            pdf_url=paper.pdf_url(self.pdf_url),
            figure=found[0] if found else None,
            figures=tuple(found),
            hides_text=hides_text,
        )

    async def known_paper(self, paper_id: str) -> Paper:
        """The stored paper; arXiv is asked (and the paper stored) only when it is not.
        Raises `InvalidArxivId` or `PaperNotFound`."""
        ident = parse_arxiv_id(paper_id)
        stored = await self.stored_paper(ident)
        return stored if stored is not None else await self.paper(ident)

    async def stored_paper(self, ident: ArxivId) -> Paper | None:
        """The paper as stored (that version, when `ident` names one), or None."""
        row = await self.store.call(PaperRows.paper, ident.base)
        if row is None or ident.version not in (None, row["version"]):
            return None
        return Paper.from_row(row)

    async def known_card(self, paper_id: str, language: str, figures: bool = False) -> Card:
        """The card of a paper sent earlier (a "Details" button): the stored metadata and the
        cached summary; arXiv is asked only for a paper that is not stored. Someone waits
        for it, so its summary goes first in the model's budget."""
        return await self.card(await self.known_paper(paper_id), language, figures, PERSON)

    async def chat_digest(self, chat: Chat, papers: list[Paper], topics: list[str]) -> Digest:
        """The digest of `papers` (best first) for one chat, in its language: the chat's
        `max` first as cards (with its figure setting), the rest listed with a TL;DR that
        costs no model request and no PDF (opening one as a card asks for its summary)."""
        shown, rest = papers[: chat.max_papers], papers[chat.max_papers :]
        cards = [await self.card(p, chat.language, chat.figures) for p in shown]
        listed = [await self.listed(p, chat.language) for p in rest]
        day, language = self.clock().date(), chat.language
        return Digest(cards=cards, topics=topics, day=day, language=language, listed=listed)

    async def listed(self, paper: Paper, language: str) -> Listed:
        """The paper as a line of a digest's compact list."""
        summary = await self.summaries.stored_or_extractive(paper, language)
        return Listed(paper=paper, tldr=summary.tldr, language=language)

    async def topic_digest(
        self,
        topics: list[Topic],
        since: datetime,
        limit: int,
        language: str,
        progress: Progress = unwatched,
    ) -> Digest:
        """The newest papers (at most `limit`) of the topics submitted since `since`,
        searched afresh on arXiv (for `paperbot digest` and blog posts); `progress` hears
        how many were found and how many cards are made."""
        found = await self.source.search(topics, since, limit)
        ids = list(dict.fromkeys(i for t in topics for i in found.hits.get(t, [])))
        papers = sorted((found.papers[i] for i in ids), key=lambda p: p.published, reverse=True)
        chosen = papers[:limit]
        await self.store.call(
            PaperRows.upsert_papers, [p.to_row() for p in chosen], iso(self.clock())
        )
        progress(f"{len(chosen)} papers found", 0, 0)
        cards: list[Card] = []
        for paper in chosen:
            progress("summaries and figures", len(cards), len(chosen))
            cards.append(await self.card(paper, language))
        names = [t.canonical for t in topics]
        return Digest(cards=cards, topics=names, day=self.clock().date(), language=language)
