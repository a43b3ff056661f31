"""What a language model may write: the SPEC summary fields, and nothing about the paper's
identity (title, authors, ids, links come from arXiv; `language`, `model` and `source` are
filled in by paperbot)."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.summarize.extractive import MAX_TAKEAWAYS, MIN_TAKEAWAYS

SECTIONS = (
    "background",
    "prior_work",
    "method",
    "results",
    "significance",
    "novelty",
    "limitations",
)

_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$", re.IGNORECASE)


class DraftError(ValueError):
    """The model's reply is not a JSON object of the summary schema."""


class SummaryDraft(BaseModel):
    """The model's summary as parsed from its JSON reply.

    Parsing is lenient (keys the schema does not have, such as a `title` or
    `authors`, are dropped; `null` reads as empty; any number of takeaways), so
    that the grounding checks, not a parse error, judge what is wrong. The
    schema sent to the model is strict (`response_schema`).
    """

    model_config = ConfigDict(extra="ignore")

    tldr: str = Field(description="One sentence: what the paper does and its main result.")
    takeaways: list[str] = Field(
        description="3 to 5 short bullets, each a different key point of the paper.",
        json_schema_extra={"minItems": MIN_TAKEAWAYS, "maxItems": MAX_TAKEAWAYS},
    )
    background: str = Field("", description="The problem and why it matters.")
    prior_work: str = Field("", description="Previous approaches and their problems.")
    method: str = Field("", description="What the paper proposes and how it works.")
    results: str = Field("", description="Experiments and results, as the paper reports them.")
    significance: str = Field("", description="Why the results matter.")
    novelty: str = Field("", description="What is new compared with prior work.")
    limitations: str = Field("", description="Limitations the paper states; empty if none.")
    keywords: list[str] = Field(
        default_factory=list, description="3 to 6 technical terms of the paper."
    )

    @field_validator(*SECTIONS, "tldr", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("takeaways", "keywords", mode="before")
    @classmethod
    def _items(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, list):
            return [item for item in value if item is not None]
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        if isinstance(value, str):
            return " ".join(value.split())
        return [" ".join(item.split()) for item in value if item.strip()]


def response_schema() -> dict[str, Any]:
    """The JSON schema the model is asked to follow: every field required, nothing else
    allowed (the form OpenAI's strict mode and Gemini's `responseJsonSchema` both take)."""
    properties: dict[str, Any] = {}
    for name, info in SummaryDraft.model_fields.items():
        if info.annotation == list[str]:
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            properties[name] = {
                "type": "array",
                "items": {"type": "string"},
                "description": info.description,
                **extra,
            }
        else:
            properties[name] = {"type": "string", "description": info.description}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def parse_draft(text: str) -> SummaryDraft:
    """The draft in a model's reply: a JSON object, possibly inside a Markdown code fence
    or after a sentence of preamble. Raises `DraftError` with a short reason."""
    body = _FENCE.sub("", text.strip())
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end < start:
        raise DraftError("the reply has no JSON object")
    try:
        data = json.loads(body[start : end + 1])
    except json.JSONDecodeError as exc:
        reason = f"the reply is not valid JSON ({exc.msg} at character {exc.pos})"
        raise DraftError(reason) from None
    if not isinstance(data, dict):
        raise DraftError("the reply is not a JSON object")
    try:
        return SummaryDraft.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'reply'}: {error['msg']}"
            for error in exc.errors()[:5]
        )
        raise DraftError(f"the JSON does not match the schema ({problems})") from None
