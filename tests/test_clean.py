"""Summaries are cleaned once, at the source: as the summary cache makes them and as it reads
stored ones back; renderers show what a cleaned summary has."""

from __future__ import annotations

from bot.models import Summary
from bot.summarize.clean import clean, filled, is_placeholder
from bot.summarize.grounding import check_part
from tests.test_grounding import EVIDENCE

LEFTOVERS = ["", "  ", "None", "N/A.", "n/a", "xxx", "TODO", "{placeholder}", "无", "略", "…"]


def test_leftovers_are_placeholders_and_text_is_not() -> None:
    for text in LEFTOVERS:
        assert is_placeholder(text) and filled(text) == ""
    for text in ("None of the baselines converge.", "Unknown objects", "x = {a, b}", "3D"):
        assert not is_placeholder(text)
        assert filled(text) == text


def test_grounding_and_cleaning_agree_on_leftovers() -> None:
    for text in LEFTOVERS[2:]:
        labels = [f.check for f in check_part("method", None, text, EVIDENCE, "en")]
        assert "placeholder" in labels, text


def test_clean_drops_leftovers_empty_and_repeated_parts() -> None:
    dirty = Summary(
        tldr="We propose a new  method\nfor problem 1.",
        takeaways=["Problem 1 is hard.", "N/A", "It is fast."],
        background="Problem 1 is hard.",  # repeats a takeaway
        method="We propose a new method for problem 1. It uses graphs.",
        results="It is fast.",
        significance="None",
        novelty="A first.",
        limitations="xxx",
        keywords=["graphs", "N/A", " "],
        language="en",
        model="m",
        source="abstract",
    )
    cleaned = clean(dirty)
    assert cleaned.tldr == "We propose a new method for problem 1."
    assert cleaned.takeaways == ["Problem 1 is hard.", "It is fast."]
    assert (cleaned.background, cleaned.results) == ("", "")
    assert cleaned.method == "We propose a new method for problem 1. It uses graphs."
    assert (cleaned.significance, cleaned.novelty, cleaned.limitations) == ("", "A first.", "")
    assert cleaned.keywords == ["graphs"]
    assert (cleaned.language, cleaned.model, cleaned.source) == ("en", "m", "abstract")
    assert clean(cleaned) == cleaned
