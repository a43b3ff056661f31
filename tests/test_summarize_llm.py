"""The language-model summarizers through the real SDKs (google-genai, openai) against
local fake servers: request shape, parsing, retries, refusals, grounding repair."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from bot.models import Paper
from bot.retry import RetryPolicy
from bot.summarize import ModelUnavailable, SummaryError, SummaryRun
from bot.summarize.gemini import GeminiModel
from bot.summarize.llm import MODEL_POLICY, LanguageModelSummarizer
from bot.summarize.openai_compat import OpenAICompatibleModel
from bot.summarize.schema import response_schema
from tests.conftest import SleepLog
from tests.fake_http import Scripted
from tests.fake_llm import CHINESE_DRAFT as CHINESE
from tests.fake_llm import (
    GEMINI_KEY,
    GEMINI_PLAIN_TEXT,
    OPENAI_KEY,
    FakeGemini,
    FakeModelServer,
    FakeOpenAI,
    draft,
)

MODEL = "gemini-2.5-flash"
NOW = datetime(2025, 11, 3, tzinfo=UTC)
PAPER = Paper(
    "2511.00001",
    1,
    "A Study of Problem 1 with Neural Methods",
    ("Ada Lovelace", "Alan Turing"),
    "Problem 1 is hard for existing methods. We propose a new method for it. "
    "Experiments show it outperforms prior work by 3.2 points. Code is released.",
    ("cs.CV",),
    "cs.CV",
    NOW,
    NOW,
)


@pytest.fixture
async def gemini(
    fake_gemini: FakeGemini, sleeps: SleepLog
) -> AsyncIterator[LanguageModelSummarizer]:
    model = GeminiModel(MODEL, GEMINI_KEY, fake_gemini.base, timeout=0.3)
    summarizer = LanguageModelSummarizer(model, MODEL, sleep=sleeps)
    yield summarizer
    await summarizer.aclose()


@pytest.fixture
async def openai_compat(
    fake_openai: FakeOpenAI, sleeps: SleepLog
) -> AsyncIterator[LanguageModelSummarizer]:
    model = OpenAICompatibleModel("qwen3", OPENAI_KEY, f"{fake_openai.base}/v1", timeout=2.0)
    summarizer = LanguageModelSummarizer(model, "qwen3", sleep=sleeps)
    yield summarizer
    await summarizer.aclose()


def last_prompt(fake: FakeModelServer) -> str:
    return fake.prompts(fake.requests[-1])[-1]


# Gemini: request and reply


async def test_gemini_schema_round_trip(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini
) -> None:
    fake_gemini.then(draft(title="An Invented Title", authors=["Nobody"], links=["http://x"]))
    run = SummaryRun()
    summary = await gemini.summarize(PAPER, "en", None, run)

    (request,) = fake_gemini.requests
    assert request.path == f"/v1beta/models/{MODEL}:generateContent"
    assert request.headers["x-goog-api-key"] == GEMINI_KEY
    config = request.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == response_schema()
    prompt = last_prompt(fake_gemini)
    assert "Write every field in English." in prompt
    assert PAPER.title in prompt and PAPER.abstract in prompt
    assert "full text is not available" in prompt

    assert summary.model_dump() == {
        **draft(),
        "language": "en",
        "model": MODEL,
        "source": "abstract",
    }
    assert run.grounding == "passed" and run.draft_failures == []
    (call,) = run.calls
    assert (call.outcome, call.tokens_in) == ("ok", 1200) and call.tokens_out > 0


async def test_gemini_reads_the_full_text_up_to_the_references(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini
) -> None:
    body = "1 Introduction\n" + "Our method reaches 97.5% recall.\n" * 40
    fulltext = f"{body}\nReferences\n[1] A. Person. Some Paper 1999. 12345 pages.\n"
    fake_gemini.then(draft(results="Recall reaches 97.5%."))
    summary = await gemini.summarize(PAPER, "en", fulltext)
    prompt = last_prompt(fake_gemini)
    assert '<text source="fulltext">' in prompt and "97.5% recall" in prompt
    assert "Some Paper 1999" not in prompt
    assert summary.source == "fulltext" and summary.results == "Recall reaches 97.5%."


async def test_gemini_thought_parts_are_not_the_answer(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini
) -> None:
    fake_gemini.then(fake_gemini.thinking_answer(json.dumps(draft())))
    run = SummaryRun()
    summary = await gemini.summarize(PAPER, "en", None, run)
    assert summary.tldr == draft()["tldr"]
    assert run.calls[0].tokens_out > 100  # thoughts are paid for too


async def test_summary_is_asked_and_written_in_the_chat_language(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini
) -> None:
    fake_gemini.then(CHINESE)
    summary = await gemini.summarize(PAPER, "zh")
    assert "Write every field in Simplified Chinese." in last_prompt(fake_gemini)
    assert (summary.language, summary.tldr) == ("zh", CHINESE["tldr"])
    fake_gemini.then(draft())
    await gemini.summarize(PAPER, "Español")
    assert "Write every field in the language 'Español'." in last_prompt(fake_gemini)


# Gemini: failures


async def test_429_waits_the_retry_delay_the_server_asks_for(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini, sleeps: SleepLog
) -> None:
    fake_gemini.then(fake_gemini.rate_limited("7s"), draft())
    run = SummaryRun()
    summary = await gemini.summarize(PAPER, "en", None, run)
    assert sleeps.waits == [7.0]
    assert len(fake_gemini.requests) == 2 and summary.tldr == draft()["tldr"]
    assert [c.outcome for c in run.calls] == ["error", "ok"]
    assert "429 RESOURCE_EXHAUSTED" in run.calls[0].error


async def test_429_asking_for_longer_than_allowed_gives_up_at_once(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini, sleeps: SleepLog
) -> None:
    fake_gemini.then(fake_gemini.rate_limited("3600s"))
    with pytest.raises(ModelUnavailable) as raised:
        await gemini.summarize(PAPER, "en")
    assert raised.value.retry_after == 3600.0
    assert len(fake_gemini.requests) == 1 and sleeps.waits == []


async def test_5xx_is_retried_with_backoff_then_given_up(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini, sleeps: SleepLog
) -> None:
    fake_gemini.then(fake_gemini.server_error(), draft())
    await gemini.summarize(PAPER, "en")
    assert len(fake_gemini.requests) == 2 and len(sleeps.waits) == 1
    assert MODEL_POLICY.base_delay / 2 <= sleeps.waits[0] <= MODEL_POLICY.base_delay

    fake_gemini.then(*[fake_gemini.server_error()] * MODEL_POLICY.attempts)
    with pytest.raises(ModelUnavailable, match="HTTP 500 INTERNAL"):
        await gemini.summarize(PAPER, "en")
    assert len(fake_gemini.requests) == 2 + MODEL_POLICY.attempts


async def test_a_timeout_is_retried(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini, sleeps: SleepLog
) -> None:
    slow = fake_gemini.answer(json.dumps(draft()))
    slow.delay = 1.0
    fake_gemini.then(slow, draft())
    run = SummaryRun()
    await gemini.summarize(PAPER, "en", None, run)
    assert [c.error for c in run.calls] == ["timed out", ""]
    assert len(sleeps.waits) == 1


async def test_a_refused_key_is_not_retried(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini
) -> None:
    fake_gemini.then(fake_gemini.error(403, "PERMISSION_DENIED", "API key not valid."))
    with pytest.raises(ModelUnavailable, match="403 PERMISSION_DENIED: API key not valid"):
        await gemini.summarize(PAPER, "en")
    assert len(fake_gemini.requests) == 1


async def test_an_answer_the_sdk_cannot_read_is_a_model_failure(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini
) -> None:
    fake_gemini.then(Scripted(200, b"<html>proxy error</html>", {"Content-Type": "text/html"}))
    run = SummaryRun()
    with pytest.raises(ModelUnavailable, match="unexpected JSONDecodeError"):
        await gemini.summarize(PAPER, "en", None, run)
    assert [c.outcome for c in run.calls] == ["error"]


@pytest.mark.parametrize("blocked", [FakeGemini.prompt_blocked, FakeGemini.answer_blocked])
async def test_a_safety_block_is_asked_once_more_then_given_up(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini, blocked: Callable[[], Scripted]
) -> None:
    fake_gemini.then(blocked(), draft())
    run = SummaryRun()
    summary = await gemini.summarize(PAPER, "en", None, run)
    assert summary.tldr == draft()["tldr"]
    assert [c.outcome for c in run.calls] == ["refused", "ok"]
    first, second = fake_gemini.requests
    assert first.body["contents"] == second.body["contents"]

    fake_gemini.then(blocked(), blocked())
    with pytest.raises(SummaryError, match="blocked") as raised:
        await gemini.summarize(PAPER, "en")
    assert not isinstance(raised.value, ModelUnavailable)  # not worth retrying later
    assert len(fake_gemini.requests) == 4


async def test_a_reply_that_is_not_json_is_asked_again_with_the_error(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini
) -> None:
    fake_gemini.then(Scripted(200, GEMINI_PLAIN_TEXT), draft())
    summary = await gemini.summarize(PAPER, "en")
    assert summary.tldr == draft()["tldr"]
    roles = [c["role"] for c in fake_gemini.requests[1].body["contents"]]
    assert roles == ["user", "model", "user"]
    assert "Rayleigh scattering" in fake_gemini.prompts(fake_gemini.requests[1])[1]
    assert "the reply has no JSON object" in last_prompt(fake_gemini)

    fake_gemini.then(fake_gemini.answer('{"tldr": "cut off'), fake_gemini.answer("[]"))
    with pytest.raises(SummaryError, match="no JSON object"):
        await gemini.summarize(PAPER, "en")


# grounding: each failing check is re-asked with the failures listed


BAD_DRAFTS = {
    "placeholder": (draft(novelty="xxx"), "novelty: template leftover 'xxx'"),
    "language": (draft(), "tldr: not written in Simplified Chinese (language)"),
    "takeaways": (draft(takeaways=["Only one point."]), "1 takeaways; write 3 to 5"),
    "tldr": (draft(tldr="We propose a method. It is new."), "tldr: 2 sentences; write one"),
    "duplicate": (
        draft(results="A new method for problem 1."),
        "results: repeats method (duplicate)",
    ),
    "number": (
        draft(results="It outperforms prior work by 4.7 points."),
        "results: number(s) 4.7 do not appear in the paper (number)",
    ),
    "metadata": (
        draft(background="Authors: Ada Lovelace, Alan Turing."),
        "background: title/author/link label; arXiv supplies these (metadata)",
    ),
}


@pytest.mark.parametrize("failing", list(BAD_DRAFTS))
async def test_each_failing_check_is_repaired_by_asking_again(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini, failing: str
) -> None:
    bad, listed = BAD_DRAFTS[failing]
    language = "zh" if failing == "language" else "en"
    good = CHINESE if failing == "language" else draft()
    fake_gemini.then(bad, good)
    run = SummaryRun()
    summary = await gemini.summarize(PAPER, language, None, run)

    assert len(fake_gemini.requests) == 2
    repair = last_prompt(fake_gemini)
    assert listed in repair and "Write the whole JSON object again" in repair
    assert summary.tldr == good["tldr"] and summary.takeaways == good["takeaways"]
    assert run.grounding == "repaired"
    assert any(label.startswith(f"{failing}:") for label in run.draft_failures)


async def test_a_draft_failing_twice_is_patched_with_the_abstract(
    gemini: LanguageModelSummarizer, fake_gemini: FakeGemini
) -> None:
    bad = draft(
        takeaways=["Problem 1 is hard.", "It wins by 40%.", "A new method is proposed."],
        results="It outperforms prior work by 4.7 points.",
        limitations="N/A",
    )
    fake_gemini.then(bad, bad)
    run = SummaryRun()
    summary = await gemini.summarize(PAPER, "en", None, run)
    assert run.grounding == "patched" and len(fake_gemini.requests) == 2
    assert summary.results == "Experiments show it outperforms prior work by 3.2 points."
    assert summary.limitations == ""
    assert "It wins by 40%." not in summary.takeaways and len(summary.takeaways) == 3
    assert summary.model == MODEL  # the model's summary, with quoted parts


async def test_a_failed_repair_request_still_patches_the_first_draft(
    fake_gemini: FakeGemini, sleeps: SleepLog
) -> None:
    model = GeminiModel(MODEL, GEMINI_KEY, fake_gemini.base)
    summarizer = LanguageModelSummarizer(model, MODEL, RetryPolicy(attempts=1), sleeps)
    fake_gemini.then(draft(novelty="TODO"), fake_gemini.server_error())
    run = SummaryRun()
    summary = await summarizer.summarize(PAPER, "en", None, run)
    await summarizer.aclose()
    assert (run.grounding, summary.novelty) == ("patched", "")
    assert [c.outcome for c in run.calls] == ["ok", "error"]


# OpenAI-compatible servers


async def test_openai_schema_round_trip(
    openai_compat: LanguageModelSummarizer, fake_openai: FakeOpenAI
) -> None:
    fake_openai.then(draft())
    run = SummaryRun()
    summary = await openai_compat.summarize(PAPER, "en", None, run)
    (request,) = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert request.body["model"] == "qwen3"
    assert request.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "paper_summary", "schema": response_schema(), "strict": True},
    }
    assert request.body["messages"][0]["role"] == "user"
    assert (summary.model, summary.tldr) == ("qwen3", draft()["tldr"])
    assert (run.calls[0].tokens_in, run.grounding) == (1200, "passed")


async def test_openai_429_honours_retry_after(
    openai_compat: LanguageModelSummarizer, fake_openai: FakeOpenAI, sleeps: SleepLog
) -> None:
    fake_openai.then(fake_openai.error(429, "Rate limit reached", {"Retry-After": "3"}), draft())
    await openai_compat.summarize(PAPER, "en")
    assert sleeps.waits == [3.0] and len(fake_openai.requests) == 2


async def test_a_server_without_json_schema_gets_plain_json_requests(
    openai_compat: LanguageModelSummarizer, fake_openai: FakeOpenAI
) -> None:
    fenced = "Here is the summary:\n```json\n" + json.dumps(draft()) + "\n```"
    fake_openai.then(
        fake_openai.error(400, "response_format type json_schema is not supported"),
        fake_openai.answer(fenced),
        fake_openai.answer("Sorry, I cannot produce JSON right now."),
        draft(),
    )
    summary = await openai_compat.summarize(PAPER, "en")
    assert summary.tldr == draft()["tldr"]
    assert "response_format" in fake_openai.requests[0].body
    assert "response_format" not in fake_openai.requests[1].body

    summary = await openai_compat.summarize(PAPER, "en")  # plain JSON from now on
    assert summary.tldr == draft()["tldr"]
    assert all("response_format" not in r.body for r in fake_openai.requests[1:])
    assert [m["role"] for m in fake_openai.requests[-1].body["messages"]] == [
        "user",
        "assistant",
        "user",
    ]
    assert "no JSON object" in last_prompt(fake_openai)


async def test_an_openai_refusal_is_asked_once_more(
    openai_compat: LanguageModelSummarizer, fake_openai: FakeOpenAI
) -> None:
    refusal = json.loads(fake_openai.answer("").body)
    refusal["choices"][0]["message"]["refusal"] = "I can't help with that."
    fake_openai.then(Scripted(200, json.dumps(refusal).encode()), draft())
    run = SummaryRun()
    await openai_compat.summarize(PAPER, "en", None, run)
    assert [c.outcome for c in run.calls] == ["refused", "ok"]
