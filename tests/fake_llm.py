"""Local fakes of the Gemini API and of an OpenAI-compatible server, over real HTTP, for
the real SDKs to talk to.

Both record every request (path, headers, JSON body) and answer from a script when one
is queued, else with a faithful summary of the paper in the prompt: the sentences an
extractive reader picks from its abstract, so every number and word is the paper's. Good
answers use the recorded payload shapes in fixtures/gemini (Gemini) and the chat
completion object of the OpenAI API reference; errors and safety blocks are built from
the APIs' references (Gemini: `error.code/status/message/details` with
`google.rpc.RetryInfo`, `promptFeedback.blockReason`, `finishReason: SAFETY`).

Quotas: `limit(rpm, rpd, clock)` makes a server count requests on the test's clock and
answer 429 past either limit, as the real services do: Gemini's `RESOURCE_EXHAUSTED`
with a `google.rpc.QuotaFailure` naming the per-minute or per-day quota id (and a
`RetryInfo`, which for the daily quota is no promise), OpenAI's `rate_limit_exceeded` with
`retry-after` and `x-ratelimit-*` headers, or `insufficient_quota` once the day is spent.
"""

from __future__ import annotations

import copy
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.models import Paper
from bot.summarize.budget import GEMINI_RESET
from bot.summarize.extractive import summarize_abstract
from tests.fake_arxiv import FIXTURES
from tests.fake_http import FakeServer, Scripted

GEMINI_KEY = "test-gemini-key-0123456789"
OPENAI_KEY = "sk-test-openai-key-0123456789"
_GEMINI_OK = json.loads(
    (
        FIXTURES / "gemini/generateContent_200_structured_output_responseJsonSchema"
        "_gemini-2.0-flash.reserialized.json"
    ).read_text()
)
GEMINI_PLAIN_TEXT = (
    FIXTURES / "gemini/generateContent_200_basic_gemini-2.0-flash-001.json"
).read_bytes()
_PER_MINUTE = "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
_PER_DAY = "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
_TAG = re.compile(r"<(title|abstract)>\s*(.*?)\s*</\1>", re.S)


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def faithful_summary(prompt: str) -> dict[str, Any]:
    """The summary object a careful model would write for the paper in `prompt`: only
    sentences of its abstract (asked for Chinese: a plain Chinese summary that claims no
    number)."""
    if "Write every field in Simplified Chinese" in prompt:
        return CHINESE_PLAIN
    found = dict(_TAG.findall(prompt))
    now = datetime.now(UTC)
    paper = Paper("0000.00000", 1, found["title"], (), found["abstract"], (), "", now, now)
    summary = summarize_abstract(paper).model_dump()
    for name in ("language", "model", "source"):
        del summary[name]
    return summary


def draft(**fields: Any) -> dict[str, Any]:
    """A complete, well-formed summary object; `fields` override its parts."""
    base: dict[str, Any] = {
        "tldr": "We propose a new method for problem 1.",
        "takeaways": [
            "Problem 1 is hard for existing methods.",
            "A new method is proposed for it.",
            "It outperforms prior work by 3.2 points.",
        ],
        "background": "Problem 1 is hard for existing methods.",
        "prior_work": "",
        "method": "A new method for problem 1.",
        "results": "Experiments show it outperforms prior work by 3.2 points.",
        "significance": "",
        "novelty": "",
        "limitations": "",
        "keywords": ["neural methods"],
    }
    return {**base, **fields}


CHINESE_DRAFT = draft(
    tldr="本文针对问题 1 提出了一种新的神经方法。",
    takeaways=[
        "现有方法难以解决问题 1。",
        "本文提出了新的方法。",
        "实验表明比以前的工作高 3.2 个点。",
    ],
    background="现有的方法很难解决问题 1。",
    method="一种用于问题 1 的新方法。",
    results="实验显示比以前的工作高 3.2 个点。",
)


CHINESE_PLAIN = draft(
    tldr="本文针对一个困难的问题提出了一种新的方法。",
    takeaways=[
        "现有方法难以解决这个问题。",
        "本文提出了新的方法。",
        "实验表明新方法优于以前的工作。",
    ],
    background="现有的方法很难解决这个问题。",
    method="一种针对这个问题的新方法。",
    results="实验显示新方法优于以前的工作。",
    keywords=["新方法"],
)


@dataclass
class Quota:
    """A server's request limits, counted on the test's clock; the day resets as Gemini's."""

    rpm: int | None
    rpd: int | None
    clock: Callable[[], datetime]

    def __post_init__(self) -> None:
        self.accepted: list[datetime] = []

    def refusal(self) -> tuple[str, float] | None:
        """`("day", seconds)` or `("minute", seconds)` until a request would be accepted
        again, or None (and the request counts)."""
        now = self.clock()
        start = GEMINI_RESET.day_start(now)
        today = [t for t in self.accepted if t >= start]
        if self.rpd is not None and len(today) >= self.rpd:
            return "day", (GEMINI_RESET.next_reset(now) - now).total_seconds()
        minute = [t for t in today if t > now - timedelta(minutes=1)]
        if self.rpm is not None and len(minute) >= self.rpm:
            return "minute", (minute[0] + timedelta(minutes=1) - now).total_seconds()
        self.accepted.append(now)
        return None


class FakeModelServer(FakeServer):
    """Records POSTs; answers from `script`, else with `faithful_summary`; with a `quota`,
    429s past its limits (`refused` counts them)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self.script: deque[Scripted] = deque()
        self.quota: Quota | None = None
        self.refused = 0

    def limit(self, rpm: int | None, rpd: int | None, clock: Callable[[], datetime]) -> None:
        self.quota = Quota(rpm, rpd, clock)

    def post(self, path: str, headers: dict[str, str], body: bytes) -> Scripted:
        request = Request(path, headers, json.loads(body or b"{}"))
        self.requests.append(request)
        refusal = self.quota.refusal() if self.quota is not None else None
        if refusal is not None:
            self.refused += 1
            kind, seconds = refusal
            return self.day_spent() if kind == "day" else self.rate_limited(seconds)
        if self.script:
            return self.script.popleft()
        prompt = self.prompts(request)[0]
        return self.answer(json.dumps(faithful_summary(prompt)), tokens_in=len(prompt) // 4)

    def then(self, *answers: Scripted | dict[str, Any]) -> None:
        """Queue answers: a dict is a summary object replied as JSON."""
        for answer in answers:
            self.script.append(
                self.answer(json.dumps(answer)) if isinstance(answer, dict) else answer
            )

    def prompts(self, request: Request) -> list[str]:
        """The texts of the request's messages, in order."""
        raise NotImplementedError

    def answer(self, text: str, tokens_in: int = 1200, tokens_out: int = 0) -> Scripted:
        """A 200 reply whose text is `text`."""
        raise NotImplementedError

    def rate_limited(self, seconds: float = 7) -> Scripted:
        """The 429 of a per-minute limit, asking to wait `seconds`."""
        raise NotImplementedError

    def day_spent(self) -> Scripted:
        """The 429 of a spent daily quota."""
        raise NotImplementedError


class FakeGemini(FakeModelServer):
    @property
    def env(self) -> dict[str, str]:
        return {
            "PAPERBOT_LLM": "gemini",
            "GEMINI_API_KEY": GEMINI_KEY,
            "GEMINI_BASE_URL": self.base,
        }

    def prompts(self, request: Request) -> list[str]:
        return [
            "".join(part.get("text", "") for part in content["parts"])
            for content in request.body["contents"]
        ]

    def answer(self, text: str, tokens_in: int = 1200, tokens_out: int = 0) -> Scripted:
        body = copy.deepcopy(_GEMINI_OK)
        body["candidates"][0]["content"]["parts"] = [{"text": text}]
        out = tokens_out or len(text) // 4
        body["usageMetadata"].update(
            promptTokenCount=tokens_in, candidatesTokenCount=out, totalTokenCount=tokens_in + out
        )
        return _json(200, body)

    def thinking_answer(self, text: str) -> Scripted:
        """A reply whose first part is the model's thought (to be ignored)."""
        answer = json.loads(self.answer(text).body)
        parts = answer["candidates"][0]["content"]["parts"]
        parts.insert(0, {"text": "**Summarizing** {not the answer}", "thought": True})
        answer["usageMetadata"]["thoughtsTokenCount"] = 100
        return _json(200, answer)

    @staticmethod
    def error(
        code: int, status: str, message: str, retry_delay: str = "", quota_id: str = _PER_MINUTE
    ) -> Scripted:
        error: dict[str, Any] = {"code": code, "message": message, "status": status}
        if retry_delay:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/"
                            "generate_content_free_tier_requests",
                            "quotaId": quota_id,
                            "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                        }
                    ],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay},
            ]
        return _json(code, {"error": error})

    def rate_limited(self, seconds: float | str = 7) -> Scripted:
        delay = seconds if isinstance(seconds, str) else f"{max(round(seconds), 1)}s"
        return self.error(429, "RESOURCE_EXHAUSTED", _QUOTA_MESSAGE, delay)

    def day_spent(self) -> Scripted:
        """The real answer says to retry in seconds even when the day's quota is gone."""
        return self.error(429, "RESOURCE_EXHAUSTED", _QUOTA_MESSAGE, "18s", _PER_DAY)

    @classmethod
    def server_error(cls) -> Scripted:
        return cls.error(500, "INTERNAL", "An internal error has occurred.")

    @staticmethod
    def prompt_blocked() -> Scripted:
        return _json(
            200,
            {
                "promptFeedback": {
                    "blockReason": "SAFETY",
                    "safetyRatings": [
                        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
                    ],
                },
                "usageMetadata": {"promptTokenCount": 900, "totalTokenCount": 900},
                "modelVersion": "gemini-2.5-flash",
            },
        )

    @staticmethod
    def answer_blocked() -> Scripted:
        return _json(
            200,
            {
                "candidates": [
                    {
                        "finishReason": "SAFETY",
                        "index": 0,
                        "safetyRatings": [
                            {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}
                        ],
                    }
                ],
                "usageMetadata": {"promptTokenCount": 900, "totalTokenCount": 900},
                "modelVersion": "gemini-2.5-flash",
            },
        )


class FakeOpenAI(FakeModelServer):
    @property
    def env(self) -> dict[str, str]:
        return {
            "PAPERBOT_LLM": "openai",
            "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_BASE_URL": f"{self.base}/v1",
        }

    def prompts(self, request: Request) -> list[str]:
        return [message["content"] for message in request.body["messages"]]

    def answer(self, text: str, tokens_in: int = 1200, tokens_out: int = 0) -> Scripted:
        out = tokens_out or len(text) // 4
        return _json(
            200,
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1735689600,
                "model": "test-model",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": tokens_in,
                    "completion_tokens": out,
                    "total_tokens": tokens_in + out,
                },
            },
        )

    @staticmethod
    def error(
        code: int, message: str, headers: dict[str, str] | None = None, kind: str = ""
    ) -> Scripted:
        kind = kind or ("rate_limit_exceeded" if code == 429 else "invalid_request_error")
        error_code = kind if code == 429 else None
        body = {"error": {"message": message, "type": kind, "param": None, "code": error_code}}
        return _json(code, body, headers)

    def rate_limited(self, seconds: float = 7) -> Scripted:
        """With the headers of OpenAI's rate limits: no request left until the reset."""
        headers = {
            "retry-after": str(max(round(seconds), 1)),
            "x-ratelimit-limit-requests": str(self.quota.rpm if self.quota else 3),
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": f"{seconds:.0f}s",
        }
        return self.error(429, "Rate limit reached for requests per min.", headers)

    def day_spent(self) -> Scripted:
        return self.error(429, _QUOTA_MESSAGE, kind="insufficient_quota")


_QUOTA_MESSAGE = "You exceeded your current quota, please check your plan and billing details."


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Scripted:
    return Scripted(
        status,
        json.dumps(body).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )
