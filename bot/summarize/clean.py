"""Cleaning a summary, once, where it is made and where a stored one is read back.

`clean` drops what a reader should never see: empty parts, parts that are only a template
leftover (``None``, ``N/A``, ``xxx``, ``{placeholder}``), and detail sections that say
nothing the TL;DR and takeaways do not already say. Every text is put on one line.
Renderers trust a cleaned `Summary` and show every part it has.
"""

from __future__ import annotations

import re

from bot.models import Summary
from bot.summarize.sentences import split_sentences

# Sections shown only when they add a sentence to the TL;DR and takeaways.
REPEATABLE = ("background", "prior_work", "method", "results")
CONCLUSION = ("significance", "novelty", "limitations")

_PLACEHOLDER = re.compile(
    r"(?:none|null|nil|n/?a|x{3,}|tbd|todo|unknown|\.\.\.|…|-+|—+|暂缺|无|未知|略|\{[^{}]*\})",
    re.IGNORECASE,
)


def is_placeholder(text: str) -> bool:
    """Whether `text` is nothing but a template leftover (or empty)."""
    core = text.strip().rstrip(" .。")
    return not core or bool(_PLACEHOLDER.fullmatch(core))


def filled(text: str) -> str:
    """`text` on one line, or "" when it is empty or only a template leftover."""
    return "" if is_placeholder(text) else " ".join(text.split())


def clean(summary: Summary) -> Summary:
    """`summary` without empty, leftover or repeated parts (see the module docstring)."""
    tldr = filled(summary.tldr)
    takeaways = [text for text in map(filled, summary.takeaways) if text]
    shown = " ".join([tldr, *takeaways])
    sections = {name: filled(getattr(summary, name)) for name in (*REPEATABLE, *CONCLUSION)}
    for name in REPEATABLE:
        if not _adds_to(shown, sections[name]):
            sections[name] = ""
    keywords = [word for word in map(filled, summary.keywords) if word]
    update = {"tldr": tldr, "takeaways": takeaways, "keywords": keywords, **sections}
    return summary.model_copy(update=update)


def _adds_to(shown: str, text: str) -> bool:
    """Whether `text` has a sentence that is not already in `shown`."""
    return any(sentence not in shown for sentence in split_sentences(text))
