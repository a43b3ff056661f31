"""The last step of grounding: a draft that still fails its checks after the model was
re-asked keeps its good parts; failing parts are dropped or replaced by sentences of the
abstract (the extractive summary), never rewritten.

- a failing section becomes the extractive summary's section when that passes the
  checks (in the requested language), else empty;
- failing takeaways and keywords are dropped, takeaways beyond five are cut, and fewer
  than three are topped up with extractive takeaways that pass;
- a failing TL;DR becomes its own first sentence, else the extractive TL;DR, when that
  passes; if none does, the draft cannot be grounded (`SummaryError`);
- a draft whose parts pass one by one but that as a whole is not written in the requested
  language cannot be grounded either (`SummaryError`).
"""

from __future__ import annotations

from bot.summarize.base import SummaryError
from bot.summarize.extractive import MAX_TAKEAWAYS, MIN_TAKEAWAYS
from bot.summarize.extractive import summarize_abstract as extractive_summary
from bot.summarize.grounding import (
    PART_CHECKS,
    Evidence,
    Failure,
    check,
    check_language,
    check_part,
    similar,
)
from bot.summarize.schema import SECTIONS, SummaryDraft
from bot.summarize.sentences import split_sentences


def patch(
    draft: SummaryDraft, failures: list[Failure], evidence: Evidence, language: str
) -> SummaryDraft:
    """`draft` with every failing part dropped or replaced (see the module docstring)."""
    bad = {(f.field, f.index) for f in failures if f.check in PART_CHECKS or f.check == "duplicate"}
    quoted = extractive_summary(evidence.paper)

    def passes(field: str, text: str) -> bool:
        return bool(text.strip()) and not check_part(field, None, text, evidence, language)

    sections = {name: getattr(draft, name) for name in SECTIONS}
    for name in SECTIONS:
        if (name, None) in bad:
            replacement = getattr(quoted, name)
            kept = [text for other, text in sections.items() if other != name]
            fits = passes(name, replacement) and not any(similar(replacement, t) for t in kept)
            sections[name] = replacement if fits else ""

    tldr = _tldr(draft.tldr, quoted.tldr, failures, evidence, language)
    takeaways = [
        text for index, text in enumerate(draft.takeaways) if ("takeaways", index) not in bad
    ][:MAX_TAKEAWAYS]
    for candidate in quoted.takeaways:
        if len(takeaways) >= MIN_TAKEAWAYS:
            break
        if passes("takeaways", candidate) and not any(
            similar(candidate, t) for t in [tldr, *takeaways]
        ):
            takeaways.append(candidate)
    if not takeaways:
        raise SummaryError("no takeaway passes the grounding checks")
    keywords = [text for index, text in enumerate(draft.keywords) if ("keywords", index) not in bad]
    patched = SummaryDraft(tldr=tldr, takeaways=takeaways, keywords=keywords, **sections)
    wrong = check_language(patched, language)
    if wrong:
        raise SummaryError(f"the summary is {wrong[0].detail}")
    return patched


def _tldr(
    tldr: str, quoted: str, failures: list[Failure], evidence: Evidence, language: str
) -> str:
    if not any(f.field == "tldr" for f in failures):
        return tldr
    sentences = split_sentences(tldr)
    for candidate in (sentences[0] if sentences else "", quoted):
        if candidate and not _tldr_failures(candidate, evidence, language):
            return candidate
    raise SummaryError("no TL;DR passes the grounding checks")


def _tldr_failures(tldr: str, evidence: Evidence, language: str) -> list[Failure]:
    probe = SummaryDraft(tldr=tldr, takeaways=[])
    return [f for f in check(probe, evidence, language) if f.field == "tldr"]
