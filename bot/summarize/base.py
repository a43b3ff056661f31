"""The summarizer interface every backend implements (extractive, Gemini, OpenAI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from bot.models import Paper, Summary

if TYPE_CHECKING:
    from bot.summarize.budget import RequestBudget

# Priorities of model requests in the budget (lower goes first). The relevance of a paper
# to the chats that will see it can later place background summaries between these.
PERSON = 0.0  # someone waits for the answer: `/summarize`, a Details press
BACKGROUND = 100.0  # a summary for a card or digest being delivered
PLANNED = 150.0  # a summary made ahead for a card still to be sent (bot/summary_plan.py)

Grounding = Literal["extractive", "passed", "repaired", "patched", "fallback", "budget"]


class SummaryError(Exception):
    """The backend could not produce a summary for this paper (the caller degrades)."""


class ModelUnavailable(SummaryError):
    """The model could not be reached or kept failing (429, 5xx, timeouts, a refused key):
    worth trying again later. `retry_after` is the wait the server asked for, if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ModelCall:
    """One request to a language model: `ok`, `refused` (safety block, empty reply) or
    `error` (with the reason)."""

    outcome: Literal["ok", "refused", "error"]
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    error: str = ""


@dataclass
class SummaryRun:
    """What making one summary cost and how its grounding went; filled in while the
    summarizer works, so the calls of a failed attempt are counted too.

    `grounding`: `extractive` (no model), `passed` (the first draft passed every check),
    `repaired` (the re-asked draft passed), `patched` (failing parts were dropped or
    replaced by sentences of the abstract), `fallback` (the model failed; extractive),
    `budget` (the model's budget was spent; extractive until it is upgraded).
    `draft_failures` are the checks the first draft failed (`check:field`).
    `priority` is given by the caller: the place of its requests in the model's budget
    (`PERSON`, `BACKGROUND`, `PLANNED`; lower goes first).
    """

    calls: list[ModelCall] = field(default_factory=list)
    grounding: Grounding = "extractive"
    draft_failures: list[str] = field(default_factory=list)
    priority: float = BACKGROUND


class Summarizer(Protocol):
    """Produces a `Summary` of a paper in a language.

    `model` names the model; with `prompt_version` it is part of the cache key, so two
    models or two versions of the prompts never share cached summaries. A summarizer
    that `reads_fulltext` is given the PDF's text (the PDF is fetched for it). A
    summarizer with a request `budget` (a language model) is not asked while it is spent.
    """

    model: str
    prompt_version: str
    reads_fulltext: bool
    budget: RequestBudget | None

    async def summarize(
        self,
        paper: Paper,
        language: str,
        fulltext: str | None = None,
        run: SummaryRun | None = None,
    ) -> Summary:
        """Summarize `paper` in `language`; `fulltext` is the PDF's text when known.

        Raises `SummaryError` (or `ModelUnavailable`) when no summary can be made;
        the calls made and the grounding outcome are recorded in `run`.
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
