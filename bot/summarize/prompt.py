"""The prompts, kept as files in `prompts/`: one summary template with the language as a
parameter, and the message that re-asks with a list of problems.

`PROMPT_VERSION` is a hash of both files, part of the summary cache key: editing a
prompt makes new summaries on the next request instead of serving ones made with the
old wording.
"""

from __future__ import annotations

import hashlib
import re
from importlib.resources import files
from string import Template

from bot.i18n import language_name
from bot.models import Paper

MAX_TEXT_CHARS = 60_000  # about 15k tokens of full text; the rest is cut
_MIN_BODY_SHARE = 0.3  # a "References" heading before this share of the text is not the end
_REFERENCES = re.compile(r"\n\s*(?:\d+\.?\s*)?(?:references|bibliography)\s*\n", re.IGNORECASE)

_FOLDER = files("bot.summarize") / "prompts"
_SUMMARY = (_FOLDER / "summary.md").read_text(encoding="utf-8")
_REPAIR = (_FOLDER / "repair.md").read_text(encoding="utf-8")
PROMPT_VERSION = hashlib.sha256((_SUMMARY + _REPAIR).encode()).hexdigest()[:12]

NO_TEXT = "(The full text is not available: summarize from the title and abstract.)"


def paper_text(fulltext: str | None) -> str:
    """The part of the full text the model reads: up to the references, at most
    `MAX_TEXT_CHARS` characters (cut at a line break); "" when unknown."""
    if not fulltext or not fulltext.strip():
        return ""
    text = fulltext.strip()
    end = next(
        (m.start() for m in _REFERENCES.finditer(text) if m.start() > len(text) * _MIN_BODY_SHARE),
        len(text),
    )
    text = text[:end]
    if len(text) > MAX_TEXT_CHARS:
        cut = text[:MAX_TEXT_CHARS]
        boundary = cut.rfind("\n")
        text = cut[:boundary] if boundary > MAX_TEXT_CHARS // 2 else cut
    return text.strip()


def summary_prompt(paper: Paper, language: str, text: str) -> str:
    """The request for one summary: the rules, the language and the paper."""
    return Template(_SUMMARY).substitute(
        language=language_name(language),
        title=" ".join(paper.title.split()),
        abstract=" ".join(paper.abstract.split()),
        source="fulltext" if text else "abstract",
        text=text or NO_TEXT,
    )


def repair_prompt(problems: list[str]) -> str:
    """The follow-up that lists what was wrong with the reply."""
    return Template(_REPAIR).substitute(problems="\n".join(f"- {p}" for p in problems))
