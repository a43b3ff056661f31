"""Gemini through the `google-genai` SDK (async client, JSON-schema structured output).

The paper goes in as extracted text, not as a PDF part: the text is already there (the
PDF interface yields it), costs fewer tokens than page images, is the same for every
backend, and is exactly what the number check compares the summary with.

`GEMINI_BASE_URL` (proxies, tests) becomes the SDK's `base_url`. The SDK's own retries
are off (`attempts=1`): retries belong to paperbot's retry policy, which also reads
the delay a 429 asks for (`google.rpc.RetryInfo.retryDelay`). A 429 whose
`google.rpc.QuotaFailure` names a per-day quota (`GenerateRequestsPerDayPerProjectPerModel-
FreeTier`) is not retried: the daily quota is spent, and the model pauses until it resets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx
from google import genai
from google.genai import errors, types

from bot.retry import Transient, parse_retry_after
from bot.summarize.base import ModelUnavailable
from bot.summarize.budget import QuotaExhausted
from bot.summarize.llm import TEMPERATURE, TIMEOUT, Message, Reply

_BLOCKED = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)
_SECONDS = re.compile(r"([\d.]+)s")


class GeminiModel:
    """A `ChatModel` for the Gemini API."""

    def __init__(
        self,
        model: str,
        api_key: str | None,
        base_url: str | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.model = model
        self._http = httpx.AsyncClient(timeout=timeout)
        self._client = genai.Client(
            api_key=api_key,
            http_options=types.HttpOptions(
                base_url=base_url,
                timeout=int(timeout * 1000),
                retry_options=types.HttpRetryOptions(attempts=1),
                # httpx always: without it the SDK switches to aiohttp whenever that is
                # installed (discord.py brings it), with other errors and timeouts.
                httpx_async_client=self._http,
            ),
        )

    async def complete(self, messages: Sequence[Message], schema: dict[str, Any]) -> Reply:
        contents = [
            types.Content(role=message.role, parts=[types.Part(text=message.text)])
            for message in messages
        ]
        config = types.GenerateContentConfig(
            response_mime_type="application/json",
            response_json_schema=schema,
            temperature=TEMPERATURE,
        )
        try:
            response = await self._client.aio.models.generate_content(
                model=self.model, contents=contents, config=config
            )
        except errors.APIError as exc:
            raise _translate(exc) from exc
        except httpx.TimeoutException as exc:
            raise Transient("timed out") from exc
        except httpx.TransportError as exc:
            raise Transient(f"connection failed ({type(exc).__name__})") from exc
        return _reply(response)

    async def aclose(self) -> None:
        await self._client.aio.aclose()
        await self._http.aclose()


def _reply(response: types.GenerateContentResponse) -> Reply:
    usage = response.usage_metadata or types.GenerateContentResponseUsageMetadata()
    tokens_in = usage.prompt_token_count or 0
    tokens_out = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        return Reply("", tokens_in, tokens_out, f"prompt blocked ({feedback.block_reason.value})")
    candidate = response.candidates[0] if response.candidates else None
    finish = candidate.finish_reason.value if candidate and candidate.finish_reason else ""
    parts = candidate.content.parts if candidate and candidate.content else None
    text = "".join(part.text or "" for part in parts or [] if not part.thought)
    if finish in _BLOCKED:
        return Reply(text, tokens_in, tokens_out, f"answer blocked ({finish})")
    if not text.strip():
        return Reply(text, tokens_in, tokens_out, f"empty answer ({finish or 'no candidate'})")
    return Reply(text, tokens_in, tokens_out)


def _translate(exc: errors.APIError) -> Exception:
    """429 and 5xx are worth retrying; any other refusal (bad key, unknown model, bad
    request) is not, and the summary falls back to extractive."""
    reason = f"HTTP {exc.code} {exc.status or ''}".strip()
    daily = [quota for quota in _quota_ids(exc) if "PerDay" in quota]
    if exc.code == 429 and daily:
        return QuotaExhausted(f"{reason}: {', '.join(daily)}")
    if exc.code == 429 or exc.code >= 500 or exc.code == 408:
        return Transient(reason, _retry_delay(exc))
    return ModelUnavailable(f"{reason}: {exc.message or 'refused'}")


def _details(exc: errors.APIError, kind: str) -> list[dict[str, Any]]:
    """The error's details of one type (`RetryInfo`, `QuotaFailure`)."""
    body = exc.details if isinstance(exc.details, dict) else {}
    error = body.get("error", body)
    details = error.get("details", []) if isinstance(error, dict) else []
    return [
        detail
        for detail in (details if isinstance(details, list) else [])
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith(kind)
    ]


def _quota_ids(exc: errors.APIError) -> list[str]:
    """The quotas a `QuotaFailure` says were exceeded."""
    return [
        str(violation.get("quotaId", ""))
        for failure in _details(exc, "QuotaFailure")
        for violation in failure.get("violations", [])
        if isinstance(violation, dict)
    ]


def _retry_delay(exc: errors.APIError) -> float | None:
    """The wait the server asked for: `RetryInfo.retryDelay` ("37s") in the error details,
    else a `Retry-After` header."""
    for detail in _details(exc, "RetryInfo"):
        match = _SECONDS.fullmatch(str(detail.get("retryDelay", "")))
        if match:
            return float(match.group(1))
    headers = getattr(exc.response, "headers", None)
    return parse_retry_after(headers.get("Retry-After")) if headers is not None else None
