"""Summaries written by a language model, checked and repaired before they are returned.

The backends (Gemini, OpenAI-compatible) only send one request and translate the
answer; the flow is the same for both:

1. Ask for the summary object (the prompt in `prompts/summary.md`, the JSON schema of
   `schema.SummaryDraft`). A refused or empty reply (safety block) is asked once more;
   a reply that is not JSON of the schema is asked once more with the parse error.
2. Run the grounding checks. A draft that fails is re-asked once, listing the failures.
3. Still failing: the failing parts are dropped or replaced by sentences of the abstract
   (`repair.patch`).

Every request goes through the one retry policy (`bot/retry.py`): 429 (honouring the
server's retry delay), 5xx, timeouts and connection errors are retried with backoff;
a server asking to wait longer than the policy allows, still failing after the last
attempt, or answering something the SDK cannot read raises `ModelUnavailable`, and the
caller falls back to the extractive summary.
Every request, retries and re-asks included, first takes a unit of the model's
`RequestBudget` at the run's priority (`budget.py`); a spent day raises `NoBudget`
without a request, and a provider's answer that the daily quota is spent pauses the
budget until the quota resets instead of being retried.
The SDKs' own retries are switched off so they never fight this policy. Each request,
failed or not, is recorded in the `SummaryRun` with its tokens and latency.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot.models import Paper, Summary
from bot.retry import RetryPolicy, ServiceUnavailable, Sleep, Transient, with_retries
from bot.summarize.base import Grounding, ModelCall, ModelUnavailable, SummaryError, SummaryRun
from bot.summarize.budget import NoBudget, QuotaExhausted, RequestBudget
from bot.summarize.grounding import Evidence, Failure, check
from bot.summarize.prompt import PROMPT_VERSION, paper_text, repair_prompt, summary_prompt
from bot.summarize.repair import patch
from bot.summarize.schema import DraftError, SummaryDraft, parse_draft, response_schema

log = logging.getLogger(__name__)

# Short waits only: a quota that resets later than `max_delay` falls back at once and the
# summary is upgraded on a later poll.
MODEL_POLICY = RetryPolicy(attempts=3, base_delay=2.0, max_delay=60.0, give_up_on_long_wait=True)
TIMEOUT = 120.0  # seconds for one request (a long paper and a thinking model take a while)
TEMPERATURE = 0.2  # summaries, not creative writing


@dataclass(frozen=True)
class Message:
    role: Literal["user", "model"]
    text: str


@dataclass(frozen=True)
class Reply:
    """A model's answer. `refusal` says why it holds nothing usable (a safety block, an
    empty reply); the tokens are counted either way."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    refusal: str = ""


class ChatModel(Protocol):
    """One backend: sends a conversation, returns the reply."""

    async def complete(self, messages: Sequence[Message], schema: dict[str, Any]) -> Reply:
        """Ask for a JSON reply following `schema`. Raises `Transient` for failures worth
        retrying soon and `ModelUnavailable` for those that are not (a refused key)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class LanguageModelSummarizer:
    """A `Summarizer` on top of a `ChatModel`: prompt, parse, ground, repair."""

    prompt_version = PROMPT_VERSION
    reads_fulltext = True

    def __init__(
        self,
        backend: ChatModel,
        model: str,
        policy: RetryPolicy = MODEL_POLICY,
        sleep: Sleep = asyncio.sleep,
        budget: RequestBudget | None = None,
    ) -> None:
        self.backend = backend
        self.model = model
        self.policy = policy
        self.sleep = sleep
        self.budget = budget or RequestBudget(sleep=sleep)
        self._schema = response_schema()

    async def summarize(
        self,
        paper: Paper,
        language: str,
        fulltext: str | None = None,
        run: SummaryRun | None = None,
    ) -> Summary:
        """The checked summary of `paper` in `language` (see the module docstring)."""
        run = run if run is not None else SummaryRun()
        text = paper_text(fulltext)
        evidence = Evidence(paper, text)
        asked = [Message("user", summary_prompt(paper, language, text))]
        draft, answered = await self._draft(asked, run, tries=2)
        failures = check(draft, evidence, language)
        run.draft_failures = [f.label for f in failures]
        run.grounding = "passed"
        if failures:
            draft, run.grounding = await self._repair(
                draft, failures, answered, evidence, language, run
            )
        log.info(
            "summary of %s (%s): %s after %d model call(s)%s",
            paper.versioned_id,
            language,
            run.grounding,
            len(run.calls),
            f"; first draft failed {', '.join(run.draft_failures)}" if failures else "",
        )
        return Summary(
            **draft.model_dump(),
            language=language,
            model=self.model,
            source="fulltext" if text else "abstract",
        )

    async def aclose(self) -> None:
        await self.backend.aclose()

    async def _repair(
        self,
        draft: SummaryDraft,
        failures: list[Failure],
        answered: list[Message],
        evidence: Evidence,
        language: str,
        run: SummaryRun,
    ) -> tuple[SummaryDraft, Grounding]:
        """Re-ask once with the failures listed; patch whatever still fails."""
        problems = [f"{f.part}: {f.detail} ({f.check})" for f in failures]
        try:
            second, _ = await self._draft(
                [*answered, Message("user", repair_prompt(problems))], run, tries=1
            )
        except SummaryError as exc:
            log.warning("re-asking %s for a grounded summary failed: %s", self.model, exc)
        else:
            remaining = check(second, evidence, language)
            if not remaining:
                return second, "repaired"
            if len(remaining) <= len(failures):
                draft, failures = second, remaining
        return patch(draft, failures, evidence, language), "patched"

    async def _draft(
        self, conversation: list[Message], run: SummaryRun, tries: int
    ) -> tuple[SummaryDraft, list[Message]]:
        """A parsed draft and the conversation including its reply. A refused reply is
        asked again as is, an unparsable one with its parse error, `tries` times in all."""
        problem = ""
        for _ in range(tries):
            reply = await self._ask(conversation, run)
            if reply.refusal:
                problem = f"no usable reply: {reply.refusal}"
                continue
            answered = [*conversation, Message("model", reply.text)]
            try:
                return parse_draft(reply.text), answered
            except DraftError as exc:
                problem = str(exc)
                conversation = [*answered, Message("user", repair_prompt([problem]))]
        raise SummaryError(f"{self.model}: {problem}")

    async def _ask(self, conversation: list[Message], run: SummaryRun) -> Reply:
        """One request under the retry policy and the budget; every attempt is recorded in
        `run`."""

        async def attempt() -> Reply:
            started = time.monotonic()
            try:
                async with self.budget.request(run.priority):
                    reply = await self.backend.complete(conversation, self._schema)
            except NoBudget:
                raise
            except (Transient, ModelUnavailable) as exc:
                run.calls.append(
                    ModelCall("error", seconds=time.monotonic() - started, error=str(exc))
                )
                raise
            except Exception as exc:  # an answer the SDK cannot read (a proxy's HTML page)
                log.exception("%s: unexpected failure", self.model)
                reason = f"unexpected {type(exc).__name__}: {exc}"
                run.calls.append(
                    ModelCall("error", seconds=time.monotonic() - started, error=reason)
                )
                raise ModelUnavailable(reason) from exc
            outcome = "refused" if reply.refusal else "ok"
            seconds = time.monotonic() - started
            run.calls.append(ModelCall(outcome, reply.tokens_in, reply.tokens_out, seconds))
            return reply

        try:
            return await with_retries(
                attempt, policy=self.policy, what=self.model, sleep=self.sleep
            )
        except ServiceUnavailable as exc:
            raise ModelUnavailable(str(exc), exc.retry_after) from exc
        except QuotaExhausted as exc:
            raise await self.budget.quota_spent(f"{self.model}: {exc}") from exc
