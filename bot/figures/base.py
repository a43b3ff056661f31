"""The PDF interface: a paper in; its figures (key figure first) and its full text out."""

from __future__ import annotations

from typing import Protocol

from bot.models import Figure, Paper


class FigureSource(Protocol):
    """Reads a paper's PDF. Never raises: a failure means no figures or no text."""

    async def figures(self, paper: Paper) -> list[Figure]:
        """The paper's figures in order of their number; empty when none can be had."""
        ...

    async def fulltext(self, paper: Paper) -> str | None:
        """The paper's cleaned text for the summarizer, only what a reader of the PDF
        can see; None when it cannot be had."""
        ...

    async def hides_text(self, paper: Paper) -> bool:
        """Whether the PDF hides text from its readers (left out of `fulltext`), such as
        instructions aimed at AI reviewers: the card warns."""
        ...


class NoFigures:
    """Reads no PDF: cards go without a figure, summaries use the abstract (for tests and
    tools that must not fetch PDFs; the bot uses `bot.figures.source.PdfFigures`)."""

    async def figures(self, paper: Paper) -> list[Figure]:
        return []

    async def fulltext(self, paper: Paper) -> str | None:
        return None

    async def hides_text(self, paper: Paper) -> bool:
        return False
