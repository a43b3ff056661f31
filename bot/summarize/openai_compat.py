"""Any OpenAI-compatible server (OpenAI, vLLM, Ollama, LM Studio, OpenRouter) through the
`openai` SDK's chat completions.

The reply is asked for with a JSON-schema response format. A server that rejects that
(400 or 422 to the first such request) is asked from then on without it: the prompt
already describes the JSON object, and the reply is parsed as plain JSON (code fences
and preamble tolerated), with one repair request when it does not parse.

The SDK's own retries are off (`max_retries=0`); paperbot's retry policy handles 429
(honouring `Retry-After`/`retry-after-ms`, else the request limit's reset in the
`x-ratelimit-*` headers when none is left), 408/409, 5xx, timeouts and connection
errors. A 429 with the code `insufficient_quota` is not retried: the quota is spent, and
the model pauses until the budget's reset.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import httpx
import openai
from openai import AsyncOpenAI

from bot.retry import Transient, parse_retry_after
from bot.summarize.base import ModelUnavailable
from bot.summarize.budget import QuotaExhausted
from bot.summarize.llm import TEMPERATURE, TIMEOUT, Message, Reply

log = logging.getLogger(__name__)

NO_KEY = "unused"  # local servers (Ollama, vLLM) take any key; the SDK insists on one
_RETRIED = frozenset({408, 409, 429})
_NO_SCHEMA = frozenset({400, 422})
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:([\d.]+)s)?(?:(\d+)ms)?")


class OpenAICompatibleModel:
    """A `ChatModel` for OpenAI-compatible chat completion servers."""

    def __init__(
        self,
        model: str,
        api_key: str | None,
        base_url: str | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.model = model
        self.structured = True
        self._client = AsyncOpenAI(
            api_key=api_key or NO_KEY, base_url=base_url, max_retries=0, timeout=timeout
        )

    async def complete(self, messages: Sequence[Message], schema: dict[str, Any]) -> Reply:
        chat = [
            {"role": "assistant" if m.role == "model" else "user", "content": m.text}
            for m in messages
        ]
        if self.structured:
            try:
                return await self._request(chat, schema)
            except openai.APIStatusError as exc:
                if exc.status_code not in _NO_SCHEMA:
                    raise _translate(exc) from exc
                log.info(
                    "%s: HTTP %d to a JSON-schema request; asking for plain JSON from now on",
                    self.model,
                    exc.status_code,
                )
                self.structured = False
        try:
            return await self._request(chat, None)
        except openai.APIStatusError as exc:
            raise _translate(exc) from exc

    async def _request(self, chat: list[dict[str, str]], schema: dict[str, Any] | None) -> Reply:
        extra: dict[str, Any] = {}
        if schema is not None:
            extra["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "paper_summary", "schema": schema, "strict": True},
            }
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=chat,  # type: ignore[arg-type]
                temperature=TEMPERATURE,
                **extra,
            )
        except openai.APITimeoutError as exc:
            raise Transient("timed out") from exc
        except openai.APIConnectionError as exc:
            raise Transient(f"connection failed ({type(exc.__cause__).__name__})") from exc
        usage = response.usage
        tokens_in = (usage.prompt_tokens or 0) if usage else 0
        tokens_out = (usage.completion_tokens or 0) if usage else 0
        if not response.choices:
            return Reply("", tokens_in, tokens_out, "no choices in the answer")
        choice = response.choices[0]
        text = choice.message.content or ""
        if choice.message.refusal:
            return Reply(text, tokens_in, tokens_out, f"refused ({choice.message.refusal})")
        if choice.finish_reason == "content_filter":
            return Reply(text, tokens_in, tokens_out, "answer blocked (content_filter)")
        if not text.strip():
            return Reply(text, tokens_in, tokens_out, f"empty answer ({choice.finish_reason})")
        return Reply(text, tokens_in, tokens_out)

    async def aclose(self) -> None:
        await self._client.close()


def _translate(exc: openai.APIStatusError) -> Exception:
    reason = f"HTTP {exc.status_code}"
    if exc.status_code == 429 and exc.code == "insufficient_quota":
        return QuotaExhausted(f"{reason} insufficient_quota: {exc.message}")
    if exc.status_code in _RETRIED or exc.status_code >= 500:
        return Transient(reason, _retry_after(exc.response.headers))
    return ModelUnavailable(f"{reason}: {exc.message}")


def _retry_after(headers: httpx.Headers) -> float | None:
    """The wait the server asked for: `retry-after-ms`, `retry-after`, else, when no
    request is left, when the request limit resets (`x-ratelimit-reset-requests`)."""
    milliseconds = parse_retry_after(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    seconds = parse_retry_after(headers.get("retry-after"))
    if seconds is None and headers.get("x-ratelimit-remaining-requests") == "0":
        return _duration(headers.get("x-ratelimit-reset-requests", ""))
    return seconds


def _duration(text: str) -> float | None:
    """OpenAI's durations (`1s`, `6m0s`, `20ms`, `1h2m3.5s`) in seconds."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        return None
    hours, minutes, seconds, milliseconds = (float(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds + milliseconds / 1000
