"""Local fakes of the Gemini API and of an OpenAI-compatible server, over real HTTP, for
the real SDKs to talk to.

Both record every request (path, headers, JSON body) and answer from a script when one
is queued, else with a faithful summary of the paper in the prompt: the sentences an
extractive reader picks from its abstract, so every number and word is the paper's. Good
answers use the recorded payload shapes in fixtures/gemini (Gemini) and the chat
completion object of the OpenAI API reference; errors and safety blocks are built from
the APIs' references (Gemini: `error.code/status/message/details` with
`google.rpc.RetryInfo`, `promptFeedback.blockReason`, `finishReason: SAFETY`).
"""

from __future__ import annotations

import copy
import json
import re
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.models import Paper
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
_TAG = re.compile(r"<(title|abstract)>\s*(.*?)\s*</\1>", re.S)


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def faithful_summary(prompt: str) -> dict[str, Any]:
    """The summary object a careful model would write for the paper in `prompt`: only
    sentences of its abstract."""
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


class FakeModelServer(FakeServer):
    """Records POSTs; answers from `script`, else with `faithful_summary`."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self.script: deque[Scripted] = deque()

    def post(self, path: str, headers: dict[str, str], body: bytes) -> Scripted:
        request = Request(path, headers, json.loads(body or b"{}"))
        self.requests.append(request)
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
    def error(code: int, status: str, message: str, retry_delay: str = "") -> Scripted:
        error: dict[str, Any] = {"code": code, "message": message, "status": status}
        if retry_delay:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/"
                            "generate_content_free_tier_requests",
                            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        }
                    ],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay},
            ]
        return _json(code, {"error": error})

    @classmethod
    def rate_limited(cls, retry_delay: str = "7s") -> Scripted:
        return cls.error(
            429,
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details.",
            retry_delay,
        )

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
    def error(code: int, message: str, headers: dict[str, str] | None = None) -> Scripted:
        kind = "rate_limit_exceeded" if code == 429 else "invalid_request_error"
        body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        return _json(code, body, headers)


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Scripted:
    return Scripted(
        status,
        json.dumps(body).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )
