"""The summarizer interface every backend implements (extractive, Gemini, OpenAI)."""

from __future__ import annotations

from typing import Protocol

from bot.models import Paper, Summary


class SummaryError(Exception):
    """The backend could not produce a summary for this paper (the caller degrades)."""


class Summarizer(Protocol):
    """Produces a `Summary` of a paper in a language.

    `model` names the backend and model; it is part of the cache key, so two
    backends never share cached summaries.
    """

    model: str

    async def summarize(self, paper: Paper, language: str, fulltext: str | None = None) -> Summary:
        """Summarize `paper` in `language`; `fulltext` is the PDF's text when known."""
        ...
